import { type RawBuilder, sql } from 'kysely';
import { LOG_START, type LogPosition } from './position.ts';
import type { Queryable } from './schema.ts';

export interface Checkpoint {
  position: LogPosition;
  handled: number;
}

/** A checkpoint row as selected with `transaction_id::text AS tx`; no row is the log's start. */
export const checkpointOf = (
  row: { tx: string; global_position: number; handled: number } | undefined,
): Checkpoint =>
  row
    ? {
        position: { transactionId: row.tx, globalPosition: row.global_position },
        handled: row.handled,
      }
    : { position: LOG_START, handled: 0 };

export const readCheckpoint = async (db: Queryable, name: string): Promise<Checkpoint> => {
  const result = await sql<{ tx: string; global_position: number; handled: number }>`
    SELECT transaction_id::text AS tx, global_position, handled FROM checkpoints
    WHERE name = ${name}`.execute(db);
  return checkpointOf(result.rows[0]);
};

/** Several checkpoints by name, as stored; a name with none is at the log's start. */
export const readCheckpoints = async (
  db: Queryable,
  names: readonly string[],
): Promise<Map<string, Checkpoint>> => {
  const result = await sql<{ name: string; tx: string; global_position: number; handled: number }>`
    SELECT name, transaction_id::text AS tx, global_position, handled FROM checkpoints
    WHERE name = ANY(${[...names]}::text[])`.execute(db);
  const found = new Map(result.rows.map((row) => [row.name, checkpointOf(row)]));
  return new Map(names.map((name) => [name, found.get(name) ?? checkpointOf(undefined)]));
};

/**
 * Stores checkpoints by name; called in the transaction that applied what they cover. With
 * `notify`, the same statement sends the payload to that channel's listeners (delivered on
 * commit). With `alongWith`, other writes of the transaction go in the same statement too (as
 * data-modifying CTEs named by their keys), one round trip for all of them; `report` is a select
 * list over those CTEs, whose row the call answers.
 */
export const storeCheckpoints = async <
  Report extends Record<string, unknown> = Record<string, never>,
>(
  db: Queryable,
  checkpoints: ReadonlyArray<{ name: string; checkpoint: Checkpoint }>,
  options: {
    notify?: { channel: string; payload: string };
    alongWith?: Readonly<Record<string, RawBuilder<unknown> | undefined>>;
    report?: RawBuilder<unknown>;
  } = {},
): Promise<Report | undefined> => {
  const notify = options.notify
    ? sql`pg_notify(${options.notify.channel}, ${options.notify.payload})`
    : sql`1`;
  const writes = Object.entries(options.alongWith ?? {})
    .filter((entry): entry is [string, RawBuilder<unknown>] => entry[1] !== undefined)
    .map(([cte, write]) => sql`${sql.id(cte)} AS (${write}),`);
  const result = await sql<Report>`
    WITH ${sql.join(writes, sql` `)} stored AS (
      INSERT INTO checkpoints (name, transaction_id, global_position, handled, updated_at)
      SELECT name, tx, global_position, handled, now()
      FROM unnest(${checkpoints.map((c) => c.name)}::text[],
                  ${checkpoints.map((c) => c.checkpoint.position.transactionId)}::xid8[],
                  ${checkpoints.map((c) => c.checkpoint.position.globalPosition)}::bigint[],
                  ${checkpoints.map((c) => c.checkpoint.handled)}::bigint[])
           AS c(name, tx, global_position, handled)
      ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
        global_position = excluded.global_position, handled = excluded.handled, updated_at = now()
      RETURNING 1
    ) SELECT ${notify} AS notified ${options.report ? sql`, ${options.report}` : sql``}
      FROM (SELECT 1) one LEFT JOIN (SELECT count(*) FROM stored) written ON true`.execute(db);
  return result.rows[0];
};
