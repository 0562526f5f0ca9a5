import { type Kysely, sql } from 'kysely';
import { LOG_START, type LogPosition } from './position.ts';
import type { EventStoreSchema } from './schema.ts';

export interface Checkpoint {
  position: LogPosition;
  handled: number;
}

export const readCheckpoint = async (
  db: Kysely<EventStoreSchema>,
  name: string,
): Promise<Checkpoint> => {
  const row = await db
    .selectFrom('checkpoints')
    .select([sql<string>`transaction_id::text`.as('tx'), 'global_position', 'handled'])
    .where('name', '=', name)
    .executeTakeFirst();
  return row
    ? {
        position: { transactionId: row.tx, globalPosition: row.global_position },
        handled: row.handled,
      }
    : { position: LOG_START, handled: 0 };
};

/** Stores a checkpoint; called in the transaction that applied what it covers. */
export const storeCheckpoint = async (
  db: Kysely<EventStoreSchema>,
  name: string,
  checkpoint: Checkpoint,
): Promise<void> => {
  await sql`
    INSERT INTO checkpoints (name, transaction_id, global_position, handled, updated_at)
    VALUES (${name}, ${checkpoint.position.transactionId}::xid8, ${checkpoint.position.globalPosition},
            ${checkpoint.handled}, now())
    ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
      global_position = excluded.global_position, handled = excluded.handled, updated_at = now()`.execute(
    db,
  );
};
