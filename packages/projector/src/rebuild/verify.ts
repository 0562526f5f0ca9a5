import { type Checkpoint, comparePositions, LOG_START } from '@im/eventstore';
import { earliestOf, latestOf, liveCheckpoints } from '../projection/checkpoints.ts';
import { readLayout } from '../projection/layout.ts';
import { LIVE_TABLES } from '../projection/rows.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';
import { type Comparison, compareTables } from './compare.ts';
import type { Replay } from './replay.ts';
import {
  eventsUpTo,
  holdProjectors,
  positionsOf,
  type ReplayRunOptions,
  withReplay,
} from './replay-run.ts';
import type { ScratchTable } from './scratch-table.ts';

export interface VerifyResult {
  equal: boolean;
  comparison: Comparison;
  /** The live checkpoint compared at (the latest partition's), and the rebuild's count there. */
  checkpoint: Checkpoint;
  rebuiltHandled: number;
  /** Partitions whose live checkpoint is not where the rebuild says its events end. */
  differingCheckpoints: number[];
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

type Compared = { checkpoints: Map<number, Checkpoint>; comparison: Comparison };

/**
 * Brings the replay to the live checkpoints, each partition to its own, and compares the tables
 * there. The comparison runs in a repeatable-read snapshot taken while the live projectors are
 * held between batches, so the live tables stand at the checkpoints the replay reached. The
 * snapshot is read-only: a long comparison holds no transaction id, and so holds back no reader
 * of the log.
 */
const compareAtCheckpoints = async (
  database: EngineDatabase,
  replay: Replay,
  table: ScratchTable,
  partitions: number,
  only: number | undefined,
  onCheckpoints: (checkpoints: Map<number, Checkpoint>) => void,
): Promise<Compared> => {
  const db = database.db;
  /** The checkpoints compared: every partition's, or the one's. */
  const checkpointsOf = async (source: Db) => {
    const all = await liveCheckpoints(source, partitions);
    return only === undefined ? all : new Map([[only, all.get(only) as Checkpoint]]);
  };
  const catchUp = async (source: Db, checkpoints: Map<number, Checkpoint>) => {
    onCheckpoints(checkpoints);
    const until = new Map([...checkpoints].map(([p, c]) => [p, c.position]));
    await replay.catchUp(source, latestOf(checkpoints).position, until);
  };
  const compare = async (tx: Db, checkpoints: Map<number, Checkpoint>) => ({
    checkpoints,
    comparison: await compareTables(tx, LIVE_TABLES, table.tables, { only }),
  });
  if (database.kind === 'pglite') {
    // One connection, nothing running beside: one snapshot does it all.
    return db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        const checkpoints = await checkpointsOf(tx);
        await catchUp(tx, checkpoints);
        return compare(tx, checkpoints);
      });
  }
  let release = () => {};
  const snapshotTaken = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding: Promise<void> = Promise.resolve();
  const held = new Promise<Map<number, Checkpoint>>((resolve, reject) => {
    holding = db.transaction().execute(async (tx) => {
      await holdProjectors(tx, partitions);
      const checkpoints = await checkpointsOf(tx);
      await catchUp(db, checkpoints);
      resolve(checkpoints);
      await snapshotTaken;
    });
    holding.catch(reject);
  });
  try {
    const checkpoints = await held;
    return await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        // The first statement takes the snapshot; the projectors may go on after it.
        const seen = await checkpointsOf(tx);
        release();
        for (const [p, checkpoint] of checkpoints)
          if (comparePositions((seen.get(p) as Checkpoint).position, checkpoint.position) !== 0)
            throw new Error('a live checkpoint moved while the projectors were held');
        return compare(tx, checkpoints);
      });
  } finally {
    release();
    await holding.catch(() => {});
  }
};

/**
 * Rebuilds the read model into scratch tables up to the live projectors' checkpoints and compares
 * it with the live tables, row by row on every stored column, in one snapshot so that both stand
 * at the same positions. Each partition's checkpoint must also count the events up to it as the
 * rebuild does. With `only`, the replay and the comparison cover that partition's owners alone.
 * The scratch tables are dropped afterwards.
 */
export const verifyReadModel = async (options: ReplayRunOptions): Promise<VerifyResult> => {
  const db = options.database.db;
  const started = performance.now();
  const partitions = (await readLayout(db))?.partitions ?? 1;
  const { only } = options;
  if (only !== undefined && !(only >= 0 && only < partitions))
    throw new RangeError(`partition: ${only} is not one of the database's 0–${partitions - 1}`);
  const everyCheckpoint = await liveCheckpoints(db, partitions);
  const live =
    only === undefined
      ? everyCheckpoint
      : new Map([[only, everyCheckpoint.get(only) as Checkpoint]]);
  const from = earliestOf(live);
  options.progress?.setTotal(await eventsUpTo(db, LOG_START, from.position));
  return withReplay({ ...options, partitions }, 'verify', async (replay, table, counted) => {
    replay.projectedUpTo(positionsOf(partitions, everyCheckpoint));
    await replay.build(from.position);
    const compared = await compareAtCheckpoints(
      options.database,
      replay,
      table,
      partitions,
      only,
      (checkpoints) =>
        options.progress?.setTotal(counted() + latestOf(checkpoints).handled - replay.handled()),
    );
    options.progress?.finish();
    await table.drop();
    const seconds = (performance.now() - started) / 1000;
    const { checkpoints, comparison } = compared;
    // Each partition's checkpoint stands where the replay counted it (the log's start: none).
    const differingCheckpoints = [...checkpoints]
      .filter(([p, checkpoint]) => {
        const counted = replay.stoppedAt(p) ?? { position: LOG_START, handled: 0 };
        return (
          counted.handled !== checkpoint.handled ||
          comparePositions(counted.position, checkpoint.position) !== 0
        );
      })
      .map(([p]) => p);
    const latest = latestOf(checkpoints);
    return {
      equal: comparison.equal && differingCheckpoints.length === 0,
      comparison,
      checkpoint: latest,
      rebuiltHandled: replay.handled(),
      differingCheckpoints,
      events: counted(),
      seconds,
      eventsPerSecond: Math.round(counted() / seconds),
    };
  });
};
