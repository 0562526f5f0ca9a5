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

/**
 * Stores a checkpoint; called in the transaction that applied what it covers. With `notify`, the
 * same statement sends its position to that channel's listeners (delivered on commit). With
 * `alongWith`, other writes of the transaction go in the same statement too (as data-modifying
 * CTEs named by their keys), one round trip for all of them; `report` is a select list over
 * those CTEs, whose row the call answers.
 */
export const storeCheckpoint = async <
  Report extends Record<string, unknown> = Record<string, never>,
>(
  db: Queryable,
  name: string,
  checkpoint: Checkpoint,
  options: {
    notify?: string;
    alongWith?: Readonly<Record<string, RawBuilder<unknown> | undefined>>;
    report?: RawBuilder<unknown>;
  } = {},
): Promise<Report | undefined> => {
  const notify = options.notify
    ? sql`pg_notify(${options.notify}, ${JSON.stringify(checkpoint.position)})`
    : sql`1`;
  const writes = Object.entries(options.alongWith ?? {})
    .filter((entry): entry is [string, RawBuilder<unknown>] => entry[1] !== undefined)
    .map(([cte, write]) => sql`${sql.id(cte)} AS (${write}),`);
  const result = await sql<Report>`
    WITH ${sql.join(writes, sql` `)} stored AS (
      INSERT INTO checkpoints (name, transaction_id, global_position, handled, updated_at)
      VALUES (${name}, ${checkpoint.position.transactionId}::xid8, ${checkpoint.position.globalPosition},
              ${checkpoint.handled}, now())
      ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
        global_position = excluded.global_position, handled = excluded.handled, updated_at = now()
      RETURNING 1
    ) SELECT ${notify} AS notified ${options.report ? sql`, ${options.report}` : sql``} FROM stored`.execute(
    db,
  );
  return result.rows[0];
};
