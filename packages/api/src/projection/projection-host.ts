import type { Logger } from '@im/domain';
import type { Checkpoint } from '@im/eventstore';
import {
  createCallbackPublisher,
  createProjector,
  type EngineDatabase,
  type ProjectorStats,
  type PublisherStats,
} from '@im/projector';
import type { NatsConnection } from 'nats';
import { type Config, callbackPrefix } from '../config.ts';
import { createProjectionThreads } from './projection-threads.ts';

/** Where this process's partitions are projected and their callbacks published. */
export interface ProjectionHost {
  /** The partitions this process holds. */
  held(): readonly number[];
  stats(): { projector: ProjectorStats; publisher: PublisherStats };
  /** This process just appended: look at the log now. */
  wake(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ProjectionHostOptions {
  config: Config;
  database: EngineDatabase;
  nc: NatsConnection;
  logger: Logger;
  /** The database's number of partitions. */
  partitions: number;
  /** Projection threads; 0 projects in this thread (the only way with the embedded PGlite). */
  threads: number;
  onProjected(checkpoints: ReadonlyArray<[number, Checkpoint]>): void;
  onLayoutChanged(partitions: number): void;
}

/** The projector and the publisher in this thread, as one process with one core needs. */
const inThisThread = (options: ProjectionHostOptions): ProjectionHost => {
  const { config, database, logger } = options;
  const projector = createProjector({
    database,
    holder: config.INSTANCE_ID,
    logger: logger.child({ component: 'projector' }),
    partitions: options.partitions,
    batchSize: config.PROJECTOR_BATCH_SIZE,
    onProjected: (batch) => {
      options.onProjected([...batch.checkpoints]);
      if (batch.outbox) publisher.handOver(batch.outbox);
      else publisher.wake();
    },
    onLayoutChanged: options.onLayoutChanged,
  });
  const publisher = createCallbackPublisher({
    database,
    nc: options.nc,
    subjectPrefix: callbackPrefix(config),
    logger: logger.child({ component: 'publisher' }),
    partitions: () => projector.stats().held,
  });
  return {
    held: () => projector.stats().held,
    stats: () => ({ projector: projector.stats(), publisher: publisher.stats() }),
    wake: () => projector.wake(),
    async start() {
      await projector.start();
      publisher.start();
    },
    async stop() {
      await publisher.stop();
      await projector.stop();
    },
  };
};

/** Projection in this thread, or on `threads` worker threads. */
export const createProjectionHost = (options: ProjectionHostOptions): ProjectionHost =>
  options.threads === 0
    ? inThisThread(options)
    : createProjectionThreads({ ...options, holder: options.config.INSTANCE_ID });
