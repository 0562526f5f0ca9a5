import { allPartitions } from '@im/domain';
import {
  type Checkpoint,
  comparePositions,
  LOG_START,
  logHead,
  storeCheckpoints,
} from '@im/eventstore';
import { sql } from 'kysely';
import { recordChanges } from '../callbacks/outbox.ts';
import { earliestOf, latestOf, liveCheckpoints } from '../projection/checkpoints.ts';
import { readLayout, storeLayout } from '../projection/layout.ts';
import { projectedPayload } from '../projection/project-batch.ts';
import { LIVE_TABLES, tablesOf } from '../projection/rows.ts';
import { PROJECTED_CHANNEL, projectorCheckpoint } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { recountTotals } from '../read-model/totals.ts';
import type { Replay } from './replay.ts';
import {
  DEFAULTS,
  eventsUpTo,
  holdProjectors,
  positionsOf,
  type ReplayRunOptions,
  timer,
  withReplay,
} from './replay-run.ts';
import { replaceTables, type ScratchTable } from './scratch-table.ts';

const LOCK_NOT_AVAILABLE = '55P03';

export interface RebuildOptions extends ReplayRunOptions {
  /** How long the switch waits for a lock before it lets queries through and tries again. */
  lockTimeoutMs?: number;
  switchAttempts?: number;
  /** How long a change of partitions waits for the callbacks due to be published (default 30 s). */
  outboxDrainMs?: number;
}

export interface RebuildResult {
  events: number;
  rows: number;
  seconds: number;
  eventsPerSecond: number;
  /** The number of partitions the read model was built for (and the database has now). */
  partitions: number;
  /** The projectors' checkpoint after the switch, every partition's: where the rebuild stopped. */
  checkpoint: Checkpoint;
  /** Where the live projectors were when the rebuild took their place (the one furthest behind). */
  replaced: Checkpoint;
  /** Changes the rebuild put in the outbox: those of events the live projectors had not reached. */
  callbacks: number;
}

/** Waits, with the projectors held, until the publishers published every callback due. */
const outboxDrained = async (tx: Db, waitMs: number) => {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await sql<{ due: number }>`
      SELECT count(*)::int AS due FROM conversation_change`.execute(tx);
    if ((rows[0]?.due ?? 0) === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `${rows[0]?.due} callbacks are still to be published after ${waitMs / 1000} s: a change of partitions waits for them (is NATS up?)`,
      );
    await new Promise((done) => setTimeout(done, 50));
  }
};

/** Makes the replay take the live tables' place, in one transaction (see rebuildReadModel). */
const switchTables = async (
  db: Db,
  replay: Replay,
  table: ScratchTable,
  layout: { before: number; after: number },
  waits: { lockTimeoutMs: number; outboxDrainMs: number },
  onCatchUp: () => void,
) =>
  db.transaction().execute(async (tx) => {
    await sql.raw(`SET LOCAL lock_timeout = ${Math.round(waits.lockTimeoutMs)}`).execute(tx);
    await holdProjectors(tx, Math.max(layout.before, layout.after));
    await sql`LOCK TABLE ${sql.join(tablesOf(LIVE_TABLES).map((table) => sql.table(table)))}
              IN ACCESS EXCLUSIVE MODE`.execute(tx);
    onCatchUp();
    // Outbox rows are the partitions' own: a new layout starts once the old one's are published.
    if (layout.after !== layout.before) await outboxDrained(tx, waits.outboxDrainMs);
    const replaced = await liveCheckpoints(tx, layout.before);
    const live = positionsOf(layout.before, replaced);
    replay.projectedUpTo(live);
    const head = await logHead(tx);
    if (head) await replay.catchUp(tx, head);
    if (comparePositions(replay.position(), latestOf(replaced).position) < 0) {
      throw new Error('the rebuild ended behind the live projectors: the log is not readable');
    }
    const changes = replay.changesAfter(live);
    await recordChanges(tx, changes);
    await replaceTables(tx, table.tables);
    await recountTotals(tx);
    const checkpoint = { position: replay.position(), handled: replay.handled() };
    const partitions = allPartitions(layout.after);
    await storeLayout(tx, { partitions: layout.after });
    if (layout.after !== layout.before) {
      await sql`DELETE FROM checkpoints WHERE name LIKE 'projector:%'`.execute(tx);
      await sql`DELETE FROM publisher_checkpoint`.execute(tx);
    }
    await storeCheckpoints(
      tx,
      partitions.map((p) => ({ name: projectorCheckpoint(p), checkpoint })),
      {
        notify: {
          channel: PROJECTED_CHANNEL,
          payload: projectedPayload(partitions, checkpoint.position),
        },
      },
    );
    return { checkpoint, replaced: earliestOf(replaced), callbacks: changes.length };
  });

/**
 * Rebuilds the conversation read model from the whole event log, beside the live tables that
 * keep serving: folds the log into scratch tables, follows the events that arrive meanwhile,
 * then, in one transaction that holds every partition's lease row, applies the last events and
 * puts the new tables in the live ones' place with every partition's checkpoint at its position.
 * `partitions` builds it for another number of partitions, which the switch makes the database's.
 *
 * Callbacks: events the live projectors had projected had theirs; for events they had not
 * reached, the rebuild writes their changes to the outbox, one per row, so they are published once.
 */
export const rebuildReadModel = async (options: RebuildOptions): Promise<RebuildResult> => {
  const db = options.database.db;
  const started = performance.now();
  const before = (await readLayout(db))?.partitions ?? 1;
  const after = options.partitions ?? before;
  const live = await liveCheckpoints(db, before);
  const head = await logHead(db);
  const target = head ?? LOG_START;
  options.progress?.setTotal(await eventsUpTo(db, LOG_START, target));
  return withReplay(
    { ...options, partitions: after },
    'rebuild',
    async (replay, table, counted) => {
      const phase = timer(options.logger);
      replay.projectedUpTo(positionsOf(before, live));
      await replay.build(target);
      phase('built');
      // Follow the log until a round finds little to do, then once more after the table is vacuumed.
      const follow = async () => {
        const now = await logHead(db);
        if (!now) return 0;
        replay.projectedUpTo(positionsOf(before, await liveCheckpoints(db, before)));
        const done = counted();
        options.progress?.setTotal(done + (await eventsUpTo(db, replay.position(), now)));
        await replay.catchUp(db, now);
        return counted() - done;
      };
      const batchSize = options.batchSize ?? DEFAULTS.batchSize;
      for (let round = 0; round < 20 && (await follow()) >= batchSize; round++);
      phase('followed the log');
      await table.prepareToServe();
      await follow();
      phase('vacuumed the table');

      const attempts = options.switchAttempts ?? DEFAULTS.attempts;
      for (let attempt = 1; ; attempt++) {
        let lockedIn = false;
        try {
          const switched = await switchTables(
            db,
            replay,
            table,
            { before, after },
            {
              lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
              outboxDrainMs: options.outboxDrainMs ?? 30_000,
            },
            () => {
              lockedIn = true;
            },
          );
          phase('switched');
          options.progress?.finish();
          const seconds = (performance.now() - started) / 1000;
          return {
            ...switched,
            partitions: after,
            events: counted(),
            rows: await rowCount(db),
            seconds,
            eventsPerSecond: Math.round(counted() / seconds),
          };
        } catch (error) {
          const lockBusy = (error as { code?: string }).code === LOCK_NOT_AVAILABLE;
          // Before the locks were held nothing changed: trying again is safe. After, the replay's
          // memory is ahead of the rolled-back table, and the run starts over instead.
          if (!lockBusy || lockedIn || attempt >= attempts) throw error;
          options.logger.warn('rebuild switch waited too long for a lock; trying again', {
            attempt,
          });
          await follow();
        }
      }
    },
  );
};

const rowCount = async (db: Db) =>
  (
    await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ${sql.table(LIVE_TABLES.items)}`.execute(db)
  ).rows[0]?.n ?? 0;
