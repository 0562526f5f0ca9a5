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
 * CTEs), one round trip for all of them.
 */
export const storeCheckpoint = async (
  db: Queryable,
  name: string,
  checkpoint: Checkpoint,
  options: { notify?: string; alongWith?: ReadonlyArray<RawBuilder<unknown>> } = {},
): Promise<void> => {
  const notify = options.notify
    ? sql`SELECT pg_notify(${options.notify}, ${JSON.stringify(checkpoint.position)}) FROM stored`
    : sql`SELECT 1`;
  const writes = (options.alongWith ?? []).map(
    (write, index) => sql`${sql.id(`write_${index}`)} AS (${write}),`,
  );
  await sql`
    WITH ${sql.join(writes, sql` `)} stored AS (
      INSERT INTO checkpoints (name, transaction_id, global_position, handled, updated_at)
      VALUES (${name}, ${checkpoint.position.transactionId}::xid8, ${checkpoint.position.globalPosition},
              ${checkpoint.handled}, now())
      ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
        global_position = excluded.global_position, handled = excluded.handled, updated_at = now()
      RETURNING 1
    ) ${notify}`.execute(db);
};
