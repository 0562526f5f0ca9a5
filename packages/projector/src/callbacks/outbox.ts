import type { Logger } from '@im/domain';
import { type RawBuilder, sql } from 'kysely';
import { PUBLISHER_CHECKPOINT } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';

/**
 * Kinds of change a callback announces: entered the list, changed in it, left it. An outbox row
 * of kind `group` stands for a group message's changes to all its members' views.
 */
export const ChangeKind = { entered: 1, changed: 2, left: 3, group: 4 } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** One owner's conversation changed at a version: what the callbacks are made of. */
export interface ConversationChange {
  owner: string;
  version: number;
  conversationID: string;
  kind: ChangeKind;
  totalChanged: boolean;
  /** A change a group message made to a member's view (kept as the message's one outbox row). */
  fanout: boolean;
}

interface OutboxRow {
  owner: string;
  version: number;
  conversation_id: string;
  kind: ChangeKind;
  total_changed: boolean;
  /** For a group message's row: the members whose views it changed, in order. */
  owners: string[];
  /** Of those, the ones it brought into their lists, and the ones whose total it moved. */
  entered: string[];
  totals: string[];
}

/**
 * The outbox rows of changes in version order: one a change, but one a group message for all the
 * changes it made to its members' views, naming the members and how each changed.
 */
const outboxRows = (changes: readonly ConversationChange[]): OutboxRow[] => {
  const rows: OutboxRow[] = [];
  const groupRows = new Map<string, OutboxRow>();
  for (const change of changes) {
    if (!change.fanout) {
      rows.push({
        owner: change.owner,
        version: change.version,
        conversation_id: change.conversationID,
        kind: change.kind,
        total_changed: change.totalChanged,
        owners: [],
        entered: [],
        totals: [],
      });
      continue;
    }
    const key = `${change.version}\u0000${change.conversationID}`;
    let row = groupRows.get(key);
    if (!row) {
      row = {
        owner: '',
        version: change.version,
        conversation_id: change.conversationID,
        kind: ChangeKind.group,
        total_changed: false,
        owners: [],
        entered: [],
        totals: [],
      };
      groupRows.set(key, row);
      rows.push(row);
    }
    row.owners.push(change.owner);
    if (change.kind === ChangeKind.entered) row.entered.push(change.owner);
    if (change.totalChanged) row.totals.push(change.owner);
  }
  return rows;
};

/** The write that appends a batch's changes to the outbox the publisher follows; none for none. */
export const changesInsert = (
  changes: readonly ConversationChange[],
): RawBuilder<unknown> | undefined =>
  changes.length === 0
    ? undefined
    : sql`
    INSERT INTO conversation_change
      (owner, version, conversation_id, kind, total_changed, owners, entered, totals)
    SELECT owner, version, conversation_id, kind, total_changed,
           ARRAY(SELECT json_array_elements_text(owners)),
           ARRAY(SELECT json_array_elements_text(entered)),
           ARRAY(SELECT json_array_elements_text(totals))
    FROM ROWS FROM (json_to_recordset(${JSON.stringify(outboxRows(changes))}::json)
      AS (owner text, version bigint, conversation_id text, kind smallint, total_changed boolean,
          owners json, entered json, totals json))
      WITH ORDINALITY AS r(owner, version, conversation_id, kind, total_changed, owners, entered,
                           totals, ordinal)
    ORDER BY ordinal
    RETURNING id`;

/** Appends changes to the outbox the callback publisher follows (a rebuild's, at its switch). */
export const recordChanges = async (
  db: Db,
  changes: readonly ConversationChange[],
): Promise<void> => {
  await changesInsert(changes)?.execute(db);
};

/** How far the publisher got, and how far the projector wrote: the gap is the backlog. */
export const outboxPosition = async (db: Db): Promise<{ published: number; head: number }> => {
  const result = await sql<{ published: number | null; head: number | null }>`
    SELECT (SELECT last_change_id FROM publisher_checkpoint WHERE name = ${PUBLISHER_CHECKPOINT}) AS published,
           (SELECT max(id) FROM conversation_change) AS head`.execute(db);
  const row = result.rows[0];
  const published = Number(row?.published ?? 0);
  return { published, head: Math.max(published, Number(row?.head ?? 0)) };
};

/**
 * Frees the space of published rows. The outbox is written at one end and emptied at the other
 * all day: left to autovacuum (once a minute at best) its dead rows pile up, and reading the next
 * batch becomes a scan of all of them.
 */
export const vacuumOutbox = async (db: Db): Promise<void> => {
  await sql`VACUUM conversation_change`.execute(db);
};

/**
 * Moves the checkpoint past `lastID` and drops the rows it covers. GREATEST: a publisher that lost
 * its turn and finishes late must not move the checkpoint back over its successor's.
 */
export const markPublished = async (db: Db, lastID: number): Promise<void> => {
  await sql`
    WITH marked AS (
      INSERT INTO publisher_checkpoint (name, last_change_id) VALUES (${PUBLISHER_CHECKPOINT}, ${lastID})
      ON CONFLICT (name) DO UPDATE
      SET last_change_id = greatest(publisher_checkpoint.last_change_id, excluded.last_change_id)
    )
    DELETE FROM conversation_change WHERE id <= ${lastID}`.execute(db);
};

/** Published outbox rows between two vacuums of the outbox. */
const VACUUM_EVERY_ROWS = 5000;

/**
 * Vacuums the outbox every few thousand published rows, beside the publishing, not in its way
 * (VACUUM blocks no read, insert or delete): its dead rows would otherwise make each read a scan.
 */
export const createOutboxVacuum = (db: Db, logger: Logger) => {
  let since = 0;
  let vacuuming: Promise<void> | undefined;
  return {
    published(rows: number) {
      since += rows;
      if (since < VACUUM_EVERY_ROWS || vacuuming) return;
      since = 0;
      vacuuming = vacuumOutbox(db)
        .catch((error) => logger.warn('outbox vacuum failed', { error }))
        .finally(() => {
          vacuuming = undefined;
        });
    },
    /** Resolves once no vacuum runs. */
    settled: async () => {
      await vacuuming;
    },
  };
};
