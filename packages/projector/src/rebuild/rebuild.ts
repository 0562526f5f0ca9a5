import {
  type Checkpoint,
  comparePositions,
  LOG_START,
  logHead,
  readCheckpoint,
  storeCheckpoint,
} from '@im/eventstore';
import { sql } from 'kysely';
import { recordChanges } from '../callbacks/outbox.ts';
import { LIVE_TABLES } from '../projection/rows.ts';
import { PROJECTED_CHANNEL, PROJECTOR_CHECKPOINT } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { recountTotals } from '../read-model/totals.ts';
import type { Replay } from './replay.ts';
import {
  DEFAULTS,
  eventsUpTo,
  holdProjector,
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
}

export interface RebuildResult {
  events: number;
  rows: number;
  seconds: number;
  eventsPerSecond: number;
  /** The projector's checkpoint after the switch: where the rebuild stopped. */
  checkpoint: Checkpoint;
  /** Where the live projector was when the rebuild took its place. */
  replaced: Checkpoint;
  /** Changes the rebuild put in the outbox: those of events the live projector had not reached. */
  callbacks: number;
}

/** Makes the replay take the live table's place, in one transaction (see rebuildReadModel). */
const switchTables = async (
  db: Db,
  replay: Replay,
  table: ScratchTable,
  lockTimeoutMs: number,
  onCatchUp: () => void,
) =>
  db.transaction().execute(async (tx) => {
    await sql.raw(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`).execute(tx);
    await holdProjector(tx);
    await sql`LOCK TABLE ${sql.table(LIVE_TABLES.items)}, ${sql.table(LIVE_TABLES.groups)}
              IN ACCESS EXCLUSIVE MODE`.execute(tx);
    onCatchUp();
    const replaced = await readCheckpoint(tx, PROJECTOR_CHECKPOINT);
    replay.projectedUpTo(replaced.position);
    const head = await logHead(tx);
    if (head) await replay.catchUp(tx, head);
    if (comparePositions(replay.position(), replaced.position) < 0) {
      throw new Error('the rebuild ended behind the live projector: the log is not readable');
    }
    const changes = replay.changesAfter(replaced.position);
    await recordChanges(tx, changes);
    await replaceTables(tx, table.tables);
    await recountTotals(tx);
    const checkpoint = { position: replay.position(), handled: replay.handled() };
    await storeCheckpoint(tx, PROJECTOR_CHECKPOINT, checkpoint, { notify: PROJECTED_CHANNEL });
    return { checkpoint, replaced, callbacks: changes.length };
  });

/**
 * Rebuilds the conversation read model from the whole event log, beside the live table that
 * keeps serving: folds the log into a scratch table, follows the events that arrive meanwhile,
 * then, in one transaction that holds the projector's lease row, applies the last events and
 * puts the new table in the live one's place with the projector's checkpoint at its position.
 *
 * Callbacks: events the live projector had projected had theirs; for events it had not reached,
 * the rebuild writes their changes to the outbox, one per row, so they are published once.
 */
export const rebuildReadModel = async (options: RebuildOptions): Promise<RebuildResult> => {
  const db = options.database.db;
  const started = performance.now();
  const live = await readCheckpoint(db, PROJECTOR_CHECKPOINT);
  const head = await logHead(db);
  const target = head ?? LOG_START;
  options.progress?.setTotal(await eventsUpTo(db, LOG_START, target));
  return withReplay(options, 'rebuild', async (replay, table, counted) => {
    const phase = timer(options.logger);
    replay.projectedUpTo(live.position);
    await replay.build(target);
    phase('built');
    // Follow the log until a round finds little to do, then once more after the table is logged.
    const follow = async () => {
      const now = await logHead(db);
      if (!now) return 0;
      replay.projectedUpTo((await readCheckpoint(db, PROJECTOR_CHECKPOINT)).position);
      const before = counted();
      options.progress?.setTotal(before + (await eventsUpTo(db, replay.position(), now)));
      await replay.catchUp(db, now);
      return counted() - before;
    };
    const batchSize = options.batchSize ?? DEFAULTS.batchSize;
    for (let round = 0; round < 20 && (await follow()) >= batchSize; round++);
    phase('followed the log');
    await table.setLogged();
    await follow();
    phase('logged the table');

    const attempts = options.switchAttempts ?? DEFAULTS.attempts;
    for (let attempt = 1; ; attempt++) {
      let lockedIn = false;
      try {
        const switched = await switchTables(
          db,
          replay,
          table,
          options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
          () => {
            lockedIn = true;
          },
        );
        phase('switched');
        options.progress?.finish();
        const seconds = (performance.now() - started) / 1000;
        return {
          ...switched,
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
  });
};

const rowCount = async (db: Db) =>
  (
    await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ${sql.table(LIVE_TABLES.items)}`.execute(db)
  ).rows[0]?.n ?? 0;
