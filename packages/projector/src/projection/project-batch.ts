import { deriveMember } from '@im/domain';
import { type Checkpoint, checkpointOf, horizonColumn, storeCheckpoint } from '@im/eventstore';
import { sql } from 'kysely';
import type { OutboxBatch } from '../callbacks/change-callbacks.ts';
import { changesInsert, outboxEntries } from '../callbacks/outbox.ts';
import { PROJECTED_CHANNEL, PROJECTOR_CHECKPOINT, PROJECTOR_LEASE } from '../read-model/names.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';
import { addToTotals } from '../read-model/totals.ts';
import { applyBatch } from './apply-batch.ts';
import { readLogBatch } from './read-log.ts';
import { LIVE_TABLES } from './rows.ts';

/** The batch found the projector's lease not (or no longer) this process's: it was rolled back. */
export class LeaseLost extends Error {}

/**
 * Opens a batch's transaction in one statement: settings, the lease row locked and confirmed ours
 * (a process that lost its lease cannot commit over its successor's), the checkpoint, and the
 * log's horizon for the batch's read, which is the next statement. Nothing means the lease is not
 * ours.
 */
const beginBatch = async (tx: Db, holder: string) => {
  // The read model is derived from the durable log: a crash that loses this commit only
  // rewinds the checkpoint with it, and the events are projected again. Not waiting for the
  // WAL flush takes an fsync off every command's path. Sorting is discouraged so that the log
  // is read along its index even before statistics know how large it has grown.
  const result = await sql<{
    holder: string | null;
    tx: string | null;
    global_position: number;
    handled: number;
    horizon: string;
  }>`
    SELECT set_config('synchronous_commit', 'off', true), set_config('enable_sort', 'off', true),
           lease.holder, c.transaction_id::text AS tx, c.global_position, c.handled,
           ${horizonColumn} AS horizon
    FROM (SELECT 1) one
    LEFT JOIN (
      SELECT holder FROM leases
      WHERE name = ${PROJECTOR_LEASE} AND holder = ${holder} AND expires_at > now() FOR UPDATE
    ) lease ON true
    LEFT JOIN checkpoints c ON c.name = ${PROJECTOR_CHECKPOINT}`.execute(tx);
  const row = result.rows[0];
  if (!row?.holder) return undefined;
  const { tx: at, global_position, handled, horizon } = row;
  return {
    checkpoint: checkpointOf(at === null ? undefined : { tx: at, global_position, handled }),
    horizon,
  };
};

/** A batch projected: where the projector stands after it, and its outbox entries, handed over. */
export interface ProjectedBatch {
  checkpoint: Checkpoint;
  events: number;
  /**
   * The batch's outbox entries with the views the projector had in memory: the publisher works
   * their callbacks out without reading the outbox back.
   */
  outbox?: OutboxBatch;
}

/**
 * Runs one projection batch in one transaction: read-model changes, stored totals, outbox and
 * checkpoint together. What it reads and writes follows the events' names: a group message's
 * members it does not name cost nothing here.
 */
export const projectBatch = async (
  database: EngineDatabase,
  options: { holder: string; batchSize: number },
): Promise<ProjectedBatch> =>
  database.db.transaction().execute(async (tx) => {
    const begun = await beginBatch(tx, options.holder);
    if (!begun) throw new LeaseLost();
    const { checkpoint, horizon } = begun;
    const events = await readLogBatch(tx, checkpoint.position, {
      limit: options.batchSize,
      horizon,
    });
    const last = events.at(-1);
    if (!last) return { checkpoint, events: 0 };
    const applied = await applyBatch(tx, LIVE_TABLES, events, checkpoint.handled);
    const next = { position: last.position, handled: applied.handled };
    const entries = outboxEntries(applied.changes, applied.fanouts);
    const outbox = await storeCheckpoint<{ first_id: number | null; last_id: number | null }>(
      tx,
      PROJECTOR_CHECKPOINT,
      next,
      {
        notify: PROJECTED_CHANNEL,
        alongWith: { totals: addToTotals(applied.unreadDeltas), outbox: changesInsert(entries) },
        report:
          entries.length > 0
            ? sql`(SELECT min(id) FROM outbox) AS first_id, (SELECT max(id) FROM outbox) AS last_id`
            : undefined,
      },
    );
    if (!outbox?.first_id || !outbox.last_id) return { checkpoint: next, events: events.length };
    const { states } = applied;
    return {
      checkpoint: next,
      events: events.length,
      outbox: {
        after: outbox.first_id - 1,
        lastID: outbox.last_id,
        entries,
        viewOf: (owner, conversationID) => {
          const row = states.get(owner, conversationID);
          return row && deriveMember(row, states.group(conversationID));
        },
      },
    };
  });
