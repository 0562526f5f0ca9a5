import type { Checkpoint } from '@im/eventstore';
import type { PublisherStats, RunnerCounts } from '@im/projector';
import type { Config } from '../config.ts';

/** What a projection thread starts with. */
export interface WorkerData {
  config: Config;
  /** The database's number of partitions. */
  partitionCount: number;
  /** The process's name in the leases: a thread projects under its process's leases. */
  holder: string;
  index: number;
}

/** From the process to a projection thread. */
export type ToWorker =
  | { type: 'assign'; partitions: number[] }
  | { type: 'wake' }
  | { type: 'stop' };

/** From a projection thread to its process. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'projected'; checkpoints: Array<[number, Checkpoint]> }
  | { type: 'leases-lost' }
  | { type: 'layout-changed'; partitions: number }
  | { type: 'stats'; runner: RunnerCounts; publisher: PublisherStats }
  | { type: 'stopped' };
