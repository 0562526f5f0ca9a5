import type { ConversationState } from '@im/domain';
import { type RawBuilder, sql } from 'kysely';

/** Each stored field of a conversation state, its column and its SQL type: one list serves every query. */
const COLUMNS = [
  ['owner', 'owner', 'text'],
  ['conversationID', 'conversation_id', 'text'],
  ['conversationType', 'conversation_type', 'smallint'],
  ['userID', 'user_id', 'text'],
  ['groupID', 'group_id', 'text'],
  ['recvMsgOpt', 'recv_msg_opt', 'smallint'],
  ['groupAtType', 'group_at_type', 'smallint'],
  ['latestMsg', 'latest_msg', 'text'],
  ['latestMsgSeq', 'latest_msg_seq', 'bigint'],
  ['latestMsgSendTime', 'latest_msg_send_time', 'bigint'],
  ['draftText', 'draft_text', 'text'],
  ['draftTextTime', 'draft_text_time', 'bigint'],
  ['isPinned', 'is_pinned', 'boolean'],
  ['isPrivateChat', 'is_private_chat', 'boolean'],
  ['burnDuration', 'burn_duration', 'integer'],
  ['isNotInGroup', 'is_not_in_group', 'boolean'],
  ['isHidden', 'is_hidden', 'boolean'],
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
  options: { newRows?: boolean } = {},
): RawBuilder<unknown> => {
  const latestIndex = new Map<string, number>();
  for (const state of states) {
    if (!latestIndex.has(state.latestMsg)) latestIndex.set(state.latestMsg, latestIndex.size + 1);
  }
  const arrays = COLUMNS.map(([field, , type]) =>
    field === 'latestMsg'
      ? sql`${states.map((state) => latestIndex.get(state.latestMsg))}::integer[]`
      : sql`${states.map((state) => state[field])}::${sql.raw(type)}[]`,
  );
  const values = COLUMNS.map(([field, column]) =>
    field === 'latestMsg'
      ? sql`(${[...latestIndex.keys()]}::text[])[r.${sql.raw(column)}]`
      : sql.raw(`r.${column}`),
  );
  return sql`
    INSERT INTO ${sql.table(table)} (${selectColumns})
    SELECT ${sql.join(values)}
    FROM unnest(${sql.join(arrays)}) AS r(${selectColumns})
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
