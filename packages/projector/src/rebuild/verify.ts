import { type Checkpoint, comparePositions, LOG_START, readCheckpoint } from '@im/eventstore';
import { LIVE_TABLES } from '../projection/rows.ts';
import { PROJECTOR_CHECKPOINT } from '../read-model/names.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';
import { type Comparison, compareTables } from './compare.ts';
import type { Replay } from './replay.ts';
import { eventsUpTo, holdProjector, type ReplayRunOptions, withReplay } from './replay-run.ts';
import type { ScratchTable } from './scratch-table.ts';

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
    comparison: await compareTables(tx, LIVE_TABLES, table.tables),
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
