import { allPartitions } from '@im/domain';
import { type Checkpoint, comparePositions, readCheckpoints } from '@im/eventstore';
import { projectorCheckpoint } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { readLayout } from './layout.ts';

/** The partitions' projector checkpoints, for a layout of `count`. */
export const liveCheckpoints = async (db: Db, count: number): Promise<Map<number, Checkpoint>> => {
  const stored = await readCheckpoints(db, allPartitions(count).map(projectorCheckpoint));
  return new Map(
    allPartitions(count).map((p) => [p, stored.get(projectorCheckpoint(p)) as Checkpoint]),
  );
};

/** The earliest of the checkpoints: as far as every partition got. */
export const earliestOf = (checkpoints: ReadonlyMap<number, Checkpoint>): Checkpoint =>
  [...checkpoints.values()].reduce((a, b) =>
    comparePositions(b.position, a.position) < 0 ? b : a,
  );

/** The latest of the checkpoints. */
export const latestOf = (checkpoints: ReadonlyMap<number, Checkpoint>): Checkpoint =>
  [...checkpoints.values()].reduce((a, b) =>
    comparePositions(b.position, a.position) > 0 ? b : a,
  );

/** How far the whole projection got: the checkpoint of the partition furthest behind. */
export const projectedUpTo = async (db: Db): Promise<Checkpoint> =>
  earliestOf(await liveCheckpoints(db, (await readLayout(db))?.partitions ?? 1));
