import { allPartitions, type Logger } from '@im/domain';
import { type Checkpoint, type LogPosition, readHorizon } from '@im/eventstore';
import { sql } from 'kysely';
import { readLayout } from '../projection/layout.ts';
import { logBatchQuery, parseLogBatch } from '../projection/read-log.ts';
import { LIVE_TABLE, projectorLease } from '../read-model/names.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';
import { livePositions } from './pending-changes.ts';
import type { ProgressReporter } from './progress.ts';
import { createQueryWorker } from './query-worker.ts';
import { createReplay, type Replay } from './replay.ts';
import { buildInThreads } from './replay-threads.ts';
import { createScratchTable, type ScratchTable } from './scratch-table.ts';

export interface ReplayRunOptions {
  database: EngineDatabase;
  logger: Logger;
  /** The number of partitions to build the read model for (default: the database's layout). */
  partitions?: number;
  /** Replay this one partition's owners only (verify --partition). */
  only?: number;
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
  /**
   * Worker threads the bulk fold is split over by partition (default 1: the fold runs in this
   * thread, with the log read beside it); PostgreSQL only, and a whole-log replay only.
   */
  threads?: number;
}

export const DEFAULTS = {
  batchSize: 10_000,
  cacheRows: 2_000_000,
  lockTimeoutMs: 2000,
  attempts: 10,
};

/** Logs how long each phase took, at debug level. */
export const timer = (logger: Logger) => {
  let since = performance.now();
  return (phase: string) => {
    const now = performance.now();
    logger.debug(`rebuild ${phase}`, { ms: Math.round(now - since) });
    since = now;
  };
};

export const scratchName = (purpose: string) =>
  `${LIVE_TABLE}_${purpose}_${Date.now().toString(36)}`;

export const eventsUpTo = async (
  db: Db,
  after: LogPosition,
  upTo: LogPosition,
): Promise<number> => {
  const result = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM events
    WHERE (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
      AND (transaction_id, global_position) <= (${upTo.transactionId}::xid8, ${upTo.globalPosition}::bigint)`.execute(
    db,
  );
  return result.rows[0]?.n ?? 0;
};

/** A replay into a new scratch table, with progress, and the table dropped if anything fails. */
export const withReplay = async <T>(
  options: ReplayRunOptions,
  /**
   * What the scratch tables are for: a rebuild's serve once switched in; a partition's rebuild
   * copies its rows into the live tables; verify only compares.
   */
  purpose: 'rebuild' | 'partition' | 'verify',
  work: (replay: Replay, table: ScratchTable, counted: () => number) => Promise<T>,
): Promise<T> => {
  const { database, logger } = options;
  const db = database.db;
  // Fresh statistics keep the log's read on its index, however many events just arrived.
  await sql`ANALYZE events`
    .execute(db)
    .catch((error) => logger.warn('ANALYZE events failed', { error }));
  const table = await createScratchTable(db, scratchName(purpose), {
    serves: purpose === 'rebuild',
  });
  const url = database.kind === 'postgres' ? options.databaseUrl : undefined;
  const threads = url && options.only === undefined ? (options.threads ?? 1) : 1;
  // Folded here, the log is read beside the fold; in threads, each reads its own.
  const worker = url && threads <= 1 ? createQueryWorker(url) : undefined;
  let events = 0;
  const partitions = options.partitions ?? (await readLayout(db))?.partitions ?? 1;
  const batchSize = options.batchSize ?? DEFAULTS.batchSize;
  const cacheRows = options.cacheRows ?? DEFAULTS.cacheRows;
  const onEvents = (count: number) => {
    options.signal?.throwIfAborted();
    events += count;
    options.progress?.add(count);
  };
  const replay = createReplay({
    db,
    table,
    partitions,
    ...(options.only === undefined ? {} : { only: options.only }),
    batchSize,
    cacheRows,
    indexes: purpose !== 'verify',
    onEvents,
    ...(url && threads > 1
      ? {
          buildInThreads: (upTo, live) =>
            buildInThreads(
              { url, tables: table.tables, partitions, batchSize, cacheRows, threads },
              upTo,
              live,
              onEvents,
            ),
        }
      : {}),
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

/** The live positions of those checkpoints, for the callbacks a replay owes. */
export const positionsOf = (count: number, checkpoints: ReadonlyMap<number, Checkpoint>) =>
  livePositions(count, new Map([...checkpoints].map(([p, c]) => [p, c.position])));

/**
 * Inside a transaction: stops the live projectors of `partitions` partitions between batches
 * until the transaction ends. A projector commits a batch only under its partitions' lease rows'
 * locks; one that is mid-batch finishes first.
 */
export const holdProjectors = async (tx: Db, partitions: number) => {
  const names = allPartitions(partitions).map(projectorLease);
  await sql`
    INSERT INTO leases (name, holder, expires_at)
    SELECT name, '', '-infinity' FROM unnest(${names}::text[]) AS n(name)
    ON CONFLICT (name) DO NOTHING`.execute(tx);
  await sql`SELECT 1 FROM leases WHERE name = ANY(${names}::text[]) ORDER BY name FOR UPDATE`.execute(
    tx,
  );
};
