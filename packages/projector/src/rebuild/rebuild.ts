import type { Logger } from '@im/domain';
import {
  type Checkpoint,
  comparePositions,
  LOG_START,
  type LogPosition,
  logHead,
  readCheckpoint,
  readHorizon,
  storeCheckpoint,
} from '@im/eventstore';
import { sql } from 'kysely';
import { recordChanges } from '../callbacks/outbox.ts';
import { logBatchQuery, parseLogBatch } from '../projection/read-log.ts';
import {
  LIVE_TABLE,
  PROJECTED_CHANNEL,
  PROJECTOR_CHECKPOINT,
  PROJECTOR_LEASE,
} from '../read-model/names.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';
import { recountTotals } from '../read-model/totals.ts';
import { type Comparison, compareTables } from './compare.ts';
import type { ProgressReporter } from './progress.ts';
import { createQueryWorker } from './query-worker.ts';
import { createReplay, type Replay } from './replay.ts';
import { createScratchTable, replaceTable, type ScratchTable } from './scratch-table.ts';

export interface ReplayRunOptions {
  database: EngineDatabase;
  logger: Logger;
  progress?: ProgressReporter;
  /** Events per batch; large batches make a replay fast. */
  batchSize?: number;
  /** Rows a replay keeps in memory before it goes on through the table. */
  cacheRows?: number;
  /** Stops the run between batches; the scratch table is dropped. */
  signal?: AbortSignal;
  /**
   * The database's URL, when it is PostgreSQL: the bulk read then runs on a connection in a
   * worker thread, beside the main thread's work instead of in turn with it.
   */
  databaseUrl?: string;
}

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

export interface VerifyResult {
  equal: boolean;
  comparison: Comparison;
  /** The live checkpoint compared at, and the rebuild's count of events up to it. */
  checkpoint: Checkpoint;
  rebuiltHandled: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

const DEFAULTS = { batchSize: 10_000, cacheRows: 2_000_000, lockTimeoutMs: 2000, attempts: 10 };
const LOCK_NOT_AVAILABLE = '55P03';

/** Logs how long each phase took, at debug level. */
const timer = (logger: Logger) => {
  let since = performance.now();
  return (phase: string) => {
    const now = performance.now();
    logger.debug(`rebuild ${phase}`, { ms: Math.round(now - since) });
    since = now;
  };
};

const scratchName = (purpose: string) => `${LIVE_TABLE}_${purpose}_${Date.now().toString(36)}`;

const eventsUpTo = async (db: Db, after: LogPosition, upTo: LogPosition): Promise<number> => {
  const result = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM events
    WHERE (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
      AND (transaction_id, global_position) <= (${upTo.transactionId}::xid8, ${upTo.globalPosition}::bigint)`.execute(
    db,
  );
  return result.rows[0]?.n ?? 0;
};

/** A replay into a new scratch table, with progress, and the table dropped if anything fails. */
const withReplay = async <T>(
  options: ReplayRunOptions,
  purpose: string,
  work: (replay: Replay, table: ScratchTable, counted: () => number) => Promise<T>,
): Promise<T> => {
  const { database, logger } = options;
  const db = database.db;
  // Fresh statistics keep the log's read on its index, however many events just arrived.
  await sql`ANALYZE events`
    .execute(db)
    .catch((error) => logger.warn('ANALYZE events failed', { error }));
  const table = await createScratchTable(db, scratchName(purpose));
  const worker =
    options.databaseUrl && database.kind === 'postgres'
      ? createQueryWorker(options.databaseUrl)
      : undefined;
  let events = 0;
  const replay = createReplay({
    db,
    table,
    batchSize: options.batchSize ?? DEFAULTS.batchSize,
    cacheRows: options.cacheRows ?? DEFAULTS.cacheRows,
    indexes: purpose === 'rebuild',
    onEvents: (count) => {
      options.signal?.throwIfAborted();
      events += count;
      options.progress?.add(count);
    },
    readBatch:
      worker &&
      (async (after, batch) => {
        // The horizon is read first, on the main connection: the worker's read comes after it.
        const horizon = batch.horizon ?? (await readHorizon(db));
        const query = logBatchQuery(after, { ...batch, horizon }).compile(db);
        return parseLogBatch((await worker.firstRow(query))?.batch);
      }),
  });
  try {
    return await work(replay, table, () => events);
  } catch (error) {
    await table.drop().catch((dropError) => {
      logger.warn('scratch table could not be dropped', { table: table.name, error: dropError });
    });
    throw error;
  } finally {
    await worker?.close();
  }
};

/**
 * Inside a transaction: stops the live projector between batches until the transaction ends. A
 * projector commits a batch only under its lease row's lock; one that is mid-batch finishes first.
 */
const holdProjector = async (tx: Db) => {
  await sql`
    INSERT INTO leases (name, holder, expires_at) VALUES (${PROJECTOR_LEASE}, '', '-infinity')
    ON CONFLICT (name) DO NOTHING`.execute(tx);
  await sql`SELECT 1 FROM leases WHERE name = ${PROJECTOR_LEASE} FOR UPDATE`.execute(tx);
};

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
    await sql`LOCK TABLE ${sql.table(LIVE_TABLE)} IN ACCESS EXCLUSIVE MODE`.execute(tx);
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
    await replaceTable(tx, LIVE_TABLE, table.name);
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
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(LIVE_TABLE)}`.execute(db))
    .rows[0]?.n ?? 0;

type Compared = { checkpoint: Checkpoint; comparison: Comparison };

/**
 * Brings the replay to the live checkpoint and compares the tables there. The comparison runs in
 * a repeatable-read snapshot taken while the live projector is held between batches, so the live
 * table stands at the checkpoint the replay reached. The snapshot is read-only: a long
 * comparison holds no transaction id, and so holds back no reader of the log.
 */
const compareAtCheckpoint = async (
  database: EngineDatabase,
  replay: Replay,
  table: ScratchTable,
  onCheckpoint: (checkpoint: Checkpoint) => void,
): Promise<Compared> => {
  const db = database.db;
  const compare = async (tx: Db, checkpoint: Checkpoint) => ({
    checkpoint,
    comparison: await compareTables(tx, LIVE_TABLE, table.name),
  });
  if (database.kind === 'pglite') {
    // One connection, nothing running beside: one snapshot does it all.
    return db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        const checkpoint = await readCheckpoint(tx, PROJECTOR_CHECKPOINT);
        onCheckpoint(checkpoint);
        await replay.catchUp(tx, checkpoint.position);
        return compare(tx, checkpoint);
      });
  }
  let release = () => {};
  const snapshotTaken = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding: Promise<void> = Promise.resolve();
  const held = new Promise<Checkpoint>((resolve, reject) => {
    holding = db.transaction().execute(async (tx) => {
      await holdProjector(tx);
      const checkpoint = await readCheckpoint(tx, PROJECTOR_CHECKPOINT);
      onCheckpoint(checkpoint);
      await replay.catchUp(db, checkpoint.position);
      resolve(checkpoint);
      await snapshotTaken;
    });
    holding.catch(reject);
  });
  try {
    const checkpoint = await held;
    return await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        // The first statement takes the snapshot; the projector may go on after it.
        const seen = await readCheckpoint(tx, PROJECTOR_CHECKPOINT);
        release();
        if (comparePositions(seen.position, checkpoint.position) !== 0)
          throw new Error('the live checkpoint moved while the projector was held');
        return compare(tx, checkpoint);
      });
  } finally {
    release();
    await holding.catch(() => {});
  }
};

/**
 * Rebuilds the read model into a scratch table up to the live projector's checkpoint and
 * compares it with the live table, row by row on every stored column, in one snapshot so that
 * both stand at the same position. The scratch table is dropped afterwards.
 */
export const verifyReadModel = async (options: ReplayRunOptions): Promise<VerifyResult> => {
  const db = options.database.db;
  const started = performance.now();
  const live = await readCheckpoint(db, PROJECTOR_CHECKPOINT);
  options.progress?.setTotal(await eventsUpTo(db, LOG_START, live.position));
  return withReplay(options, 'verify', async (replay, table, counted) => {
    replay.projectedUpTo(live.position);
    await replay.build(live.position);
    const compared = await compareAtCheckpoint(options.database, replay, table, (checkpoint) =>
      options.progress?.setTotal(counted() + checkpoint.handled - replay.handled()),
    );
    options.progress?.finish();
    await table.drop();
    const seconds = (performance.now() - started) / 1000;
    const { checkpoint, comparison } = compared;
    return {
      equal:
        comparison.equal &&
        replay.handled() === checkpoint.handled &&
        comparePositions(replay.position(), checkpoint.position) === 0,
      comparison,
      checkpoint,
      rebuiltHandled: replay.handled(),
      events: counted(),
      seconds,
      eventsPerSecond: Math.round(counted() / seconds),
    };
  });
};
