import { type ConversationState, type GroupState, partitionOf } from '@im/domain';
import { type RawBuilder, sql } from 'kysely';

/** Each stored field of a conversation state, its column and its SQL type: one list serves every query. */
const COLUMNS = [
  ['owner', 'owner', 'text'],
  ['conversationID', 'conversation_id', 'text'],
  ['conversationType', 'conversation_type', 'smallint'],
  ['userID', 'user_id', 'text'],
  ['groupID', 'group_id', 'text'],
  ['recvMsgOpt', 'recv_msg_opt', 'smallint'],
  ['recvMsgOptUntil', 'recv_msg_opt_until', 'bigint'],
  ['groupAtType', 'group_at_type', 'smallint'],
  ['latestMsg', 'latest_msg', 'text'],
  ['latestMsgSeq', 'latest_msg_seq', 'bigint'],
  ['latestMsgSendTime', 'latest_msg_send_time', 'bigint'],
  ['draftText', 'draft_text', 'text'],
  ['draftTextTime', 'draft_text_time', 'bigint'],
  ['isPinned', 'is_pinned', 'boolean'],
  ['isPrivateChat', 'is_private_chat', 'boolean'],
  ['burnDuration', 'burn_duration', 'integer'],
  ['isMsgDestruct', 'is_msg_destruct', 'boolean'],
  ['msgDestructTime', 'msg_destruct_time', 'integer'],
  ['latestMsgDestructTime', 'latest_msg_destruct_time', 'bigint'],
  ['isNotInGroup', 'is_not_in_group', 'boolean'],
  ['isHidden', 'is_hidden', 'boolean'],
  ['isMarkedUnread', 'is_marked_unread', 'boolean'],
  ['conversationGroupIDs', 'conversation_group_ids', 'text[]'],
  ['attachedInfo', 'attached_info', 'text'],
  ['ex', 'ex', 'text'],
  ['maxSeq', 'max_seq', 'bigint'],
  ['minSeq', 'min_seq', 'bigint'],
  ['hasReadSeq', 'has_read_seq', 'bigint'],
  ['version', 'version', 'bigint'],
] as const satisfies ReadonlyArray<readonly [keyof ConversationState, string, string]>;

/** The stored columns, for SELECT lists: `owner, conversation_id, …`. */
export const selectColumns: RawBuilder<unknown> = sql.raw(
  COLUMNS.map(([, column]) => column).join(', '),
);

/** `col = excluded.col, …` for every column outside the key. */
export const updateFromExcluded: RawBuilder<unknown> = sql.raw(
  COLUMNS.filter(([, column]) => column !== 'owner' && column !== 'conversation_id')
    .map(([, column]) => `${column} = excluded.${column}`)
    .join(', '),
);

/** A column in a select list under its field's name: `conversation_id AS "conversationID"`. */
const asField = ([field, column]: (typeof COLUMNS)[number]) => `${column} AS "${field}"`;

/** SPEC §1's unread formula over the stored seqs, for SQL; toItem computes the same in JavaScript. */
export const UNREAD_SQL = 'greatest(0, max_seq - greatest(has_read_seq, min_seq - 1))';

/** What `unread` adds to a total: a conversation marked unread counts as at least 1 (rule 18). */
const marked = (unread: string, row = '') =>
  `CASE WHEN ${row}is_marked_unread THEN greatest(1, ${unread}) ELSE ${unread} END`;

/** The domain's unreadContribution over a stored row, for rows that are listed and not muted. */
export const COUNTED_UNREAD_SQL = marked(UNREAD_SQL);

/**
 * The conversation item's fields (SPEC §2) as a select list under their JSON names: PostgreSQL
 * turns such a row into JSON equal in content to JSON.stringify(toItem(state)), so large lists
 * are answered without parsing and re-serialising every row in JavaScript.
 */
export const itemColumns: RawBuilder<unknown> = sql.raw(
  [
    ...COLUMNS.filter(([field]) => field !== 'owner' && field !== 'latestMsgSeq').map(asField),
    `${UNREAD_SQL} AS "unreadCount"`,
  ].join(', '),
);

/**
 * An upsert of the states into `table` with one array parameter per column (no per-row keys to
 * parse), and `latest_msg` sent once per distinct message: the rows of a group message all
 * carry the same one. `{ newRows: true }` leaves out the conflict check, for rows known not to
 * be there yet (a bulk load into an empty table).
 */
export const upsertStates = (
  table: string,
  states: readonly ConversationState[],
  options: { partitions: number; newRows?: boolean },
): RawBuilder<unknown> => {
  const latestIndex = new Map<string, number>();
  for (const state of states) {
    if (!latestIndex.has(state.latestMsg)) latestIndex.set(state.latestMsg, latestIndex.size + 1);
  }
  // Arrays of arrays cannot be unnested by row: a row's conversation groups travel joined by
  // commas (no ID holds one) and are split again.
  const arrays = COLUMNS.map(([field, , type]) =>
    field === 'latestMsg'
      ? sql`${states.map((state) => latestIndex.get(state.latestMsg))}::integer[]`
      : field === 'conversationGroupIDs'
        ? sql`${states.map((state) => state.conversationGroupIDs.join(','))}::text[]`
        : sql`${states.map((state) => state[field])}::${sql.raw(type)}[]`,
  );
  const values = COLUMNS.map(([field, column]) =>
    field === 'latestMsg'
      ? sql`(${[...latestIndex.keys()]}::text[])[r.${sql.raw(column)}]`
      : field === 'conversationGroupIDs'
        ? sql.raw(`string_to_array(r.${column}, ',')`)
        : sql.raw(`r.${column}`),
  );
  const partitions = states.map((state) => partitionOf(state.owner, options.partitions));
  return sql`
    INSERT INTO ${sql.table(table)} (${selectColumns}, partition)
    SELECT ${sql.join(values)}, r.partition
    FROM unnest(${sql.join(arrays)}, ${partitions}::smallint[]) AS r(${selectColumns}, partition)
    ${options.newRows ? sql`` : sql`ON CONFLICT (owner, conversation_id) DO UPDATE SET ${updateFromExcluded}`}`;
};

/**
 * The stored columns under their state fields' names, for SELECT lists whose rows are read as
 * states: the driver then builds each row as the state itself, with nothing to copy.
 */
export const stateColumns: RawBuilder<unknown> = sql.raw(COLUMNS.map(asField).join(', '));

/** A row selected with stateColumns (other columns beside them are left as they are). */
export const fromRow = (row: Record<string, unknown>): ConversationState =>
  row as unknown as ConversationState;

// A member row of a group conversation holds the member's view as of its own max_seq; the group's
// messages after that are derived from the group's row (SPEC §3, see the domain's deriveMember).
// The expressions below are deriveMember in SQL, over a conversation row `m` and the group row `g`
// joined by `groupJoin` (no row for single chats and for members who left).

/** Joins each live member row `m` to its group's row `g`, in `groups`. */
export const groupJoin = (groups = 'group_state') =>
  sql`LEFT JOIN ${sql.table(groups)} g ON m.conversation_type = 3 AND NOT m.is_not_in_group
        AND g.partition = m.partition AND g.conversation_id = m.conversation_id`;

/**
 * `groupJoin` for lookups of rows by key (a list of owners and conversations): the group row is
 * looked up by its key for each member row. A join to a list of keys is estimated at one row,
 * and the planner then scanned every group row once per member row (0.5–0.9 s for 5,000 keys on
 * a grown database); OFFSET 0 keeps the subquery a lookup of its own.
 */
export const groupJoinEach = (groups = 'group_state') =>
  sql`LEFT JOIN LATERAL (
        SELECT * FROM ${sql.table(groups)} own
        WHERE m.conversation_type = 3 AND NOT m.is_not_in_group
          AND own.partition = m.partition AND own.conversation_id = m.conversation_id
        OFFSET 0) g ON true`;

/** Whether the group has messages after the member row's own view. */
const PENDING = 'coalesce(g.max_seq, 0) > m.max_seq';

/** Every state field as derived; the fields a group's row does not touch are the member's own. */
const DERIVED: Partial<Record<keyof ConversationState, string>> = {
  maxSeq: `CASE WHEN ${PENDING} THEN g.max_seq ELSE m.max_seq END`,
  latestMsg: `CASE WHEN ${PENDING} THEN g.latest_msg ELSE m.latest_msg END`,
  latestMsgSeq: `CASE WHEN ${PENDING} THEN g.max_seq ELSE m.latest_msg_seq END`,
  latestMsgSendTime: `CASE WHEN ${PENDING} THEN g.latest_msg_send_time ELSE m.latest_msg_send_time END`,
  isHidden: `(m.is_hidden AND NOT ${PENDING})`,
  groupAtType: `CASE WHEN ${PENDING} AND g.at_all_seq > m.max_seq
    THEN (CASE WHEN m.group_at_type = 4 THEN 2 ELSE m.group_at_type | 2 END)::smallint
    ELSE m.group_at_type END`,
  version: `CASE WHEN ${PENDING} THEN greatest(m.version, g.version) ELSE m.version END`,
};

const derivedColumn = (field: keyof ConversationState, column: string) =>
  DERIVED[field] ?? `m.${column}`;

/** SPEC §1's unread formula over the derived seqs. */
const DERIVED_UNREAD = `greatest(0, ${DERIVED.maxSeq} - greatest(m.has_read_seq, m.min_seq - 1))`;

/** The derived state, under the state fields' names: rows are read as states, as stateColumns. */
export const derivedStateColumns: RawBuilder<unknown> = sql.raw(
  COLUMNS.map(([field, column]) => `${derivedColumn(field, column)} AS "${field}"`).join(', '),
);

/** The derived item (SPEC §2) under its JSON names, for lists PostgreSQL turns into JSON. */
export const derivedItemColumns: RawBuilder<unknown> = sql.raw(
  [
    ...COLUMNS.filter(([field]) => field !== 'owner' && field !== 'latestMsgSeq').map(
      ([field, column]) => `${derivedColumn(field, column)} AS "${field}"`,
    ),
    `${DERIVED_UNREAD} AS "unreadCount"`,
  ].join(', '),
);

/** The derived version: the owner version at which the view last changed. */
export const derivedVersion = sql.raw(DERIVED.version as string);

/** The derived list keys (see the table's list_block and list_time) and the derived hidden flag. */
export const derivedListBlock = sql.raw('CASE WHEN m.is_pinned THEN 0 ELSE 1 END');
export const derivedListTime = sql.raw(
  `-greatest(${DERIVED.latestMsgSendTime}, m.draft_text_time)`,
);
export const derivedHidden = sql.raw(DERIVED.isHidden as string);

/** What a derived row adds to the owner's total (SPEC §2): nothing when hidden or muted. */
export const derivedContribution = sql.raw(
  `CASE WHEN ${DERIVED.isHidden} OR m.recv_msg_opt <> 0 THEN 0 ELSE ${marked(DERIVED_UNREAD, 'm.')} END`,
);

/** A group's row: each field of the domain's GroupState, its column and its SQL type. */
export const GROUP_COLUMNS = [
  ['conversationID', 'conversation_id', 'text'],
  ['groupID', 'group_id', 'text'],
  ['maxSeq', 'max_seq', 'bigint'],
  ['latestMsg', 'latest_msg', 'text'],
  ['latestMsgSendTime', 'latest_msg_send_time', 'bigint'],
  ['atAllSeq', 'at_all_seq', 'bigint'],
  ['version', 'version', 'bigint'],
] as const satisfies ReadonlyArray<readonly [keyof GroupState, string, string]>;

/**
 * A group's row in one partition: each partition that holds members of a group keeps its own
 * copy, written only by that partition's projector.
 */
export type PartitionGroup = GroupState & { partition: number };

/** The group columns under the GroupState fields' names, and the partition. */
export const groupStateColumns: RawBuilder<unknown> = sql.raw(
  ['partition', ...GROUP_COLUMNS.map(([field, column]) => `${column} AS "${field}"`)].join(', '),
);

/**
 * An upsert of `rows` into `table`, one array parameter per column ([field, column, SQL type]),
 * every column but the key's set from the row on a conflict over `key`.
 */
export const upsertByColumns = <Row>(
  table: string,
  columns: ReadonlyArray<readonly [keyof Row & string, string, string]>,
  rows: readonly Row[],
  key: readonly string[],
): RawBuilder<unknown> => {
  const names = sql.raw(columns.map(([, column]) => column).join(', '));
  const arrays = columns.map(
    ([field, , type]) => sql`${rows.map((row) => row[field])}::${sql.raw(type)}[]`,
  );
  const updates = sql.raw(
    columns
      .filter(([, column]) => !key.includes(column))
      .map(([, column]) => `${column} = excluded.${column}`)
      .join(', '),
  );
  return sql`
    INSERT INTO ${sql.table(table)} (${names})
    SELECT * FROM unnest(${sql.join(arrays)})
    ON CONFLICT (${sql.raw(key.join(', '))}) DO UPDATE SET ${updates}`;
};

const PARTITION_GROUP_COLUMNS = [
  ['partition', 'partition', 'smallint'],
  ...GROUP_COLUMNS,
] as const satisfies ReadonlyArray<readonly [keyof PartitionGroup, string, string]>;

/** An upsert of group rows into `table`, one array parameter per column. */
export const upsertGroups = (table: string, groups: readonly PartitionGroup[]) =>
  upsertByColumns(table, PARTITION_GROUP_COLUMNS, groups, ['partition', 'conversation_id']);

/** The state fields' names, quoted, as a select list over a relation that has them. */
export const STATE_FIELDS = COLUMNS.map(([field]) => `"${field}"`).join(', ');

/** The item fields' names (SPEC §2), quoted, likewise. */
export const ITEM_FIELDS = [
  ...COLUMNS.filter(([field]) => field !== 'owner' && field !== 'latestMsgSeq').map(
    ([field]) => `"${field}"`,
  ),
  '"unreadCount"',
].join(', ');
