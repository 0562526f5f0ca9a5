import type { Checkpoint } from '@im/eventstore';
import type { PublisherStats, RunnerCounts } from '@im/projector';

/**
 * One projection lane: a runner and a publisher for the partitions it is given, in this thread or
 * in a worker thread of its own.
 */
export interface ProjectionLane {
  /** Projects these partitions from now on (and publishes their callbacks). */
  assign(partitions: readonly number[]): void;
  wake(): void;
  counts(): RunnerCounts;
  /** The publisher's figures; none before a worker first reported them. */
  publisher(): PublisherStats | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What a lane tells the process. */
export interface LaneEvents {
  onProjected(checkpoints: ReadonlyArray<[number, Checkpoint]>): void;
  onLeasesLost(): void;
  onLayoutChanged(partitions: number): void;
}
