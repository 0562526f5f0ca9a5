import type { Logger } from '@im/domain';
import {
  createCallbackPublisher,
  createProjectionRunner,
  type EngineDatabase,
} from '@im/projector';
import type { NatsConnection } from 'nats';
import { type Config, callbackPrefix } from '../config.ts';
import type { LaneEvents, ProjectionLane } from './lane.ts';

/**
 * A lane in the thread that runs it: its runner projects the partitions it is given and hands each
 * batch's callbacks to its publisher in memory. A worker thread runs one; the main thread runs one
 * beside the service.
 */
export const createLocalLane = (
  options: {
    config: Config;
    database: EngineDatabase;
    nc: NatsConnection;
    logger: Logger;
    holder: string;
    partitionCount: number;
  } & LaneEvents,
): ProjectionLane => {
  const { config, database, logger } = options;
  let partitions: readonly number[] = [];
  const publisher = createCallbackPublisher({
    database,
    nc: options.nc,
    subjectPrefix: callbackPrefix(config),
    logger: logger.child({ component: 'publisher' }),
    partitions: () => partitions,
  });
  const runner = createProjectionRunner({
    database,
    holder: options.holder,
    logger: logger.child({ component: 'projector' }),
    partitionCount: options.partitionCount,
    partitions: () => partitions,
    onLeasesLost: () => options.onLeasesLost(),
    batchSize: config.PROJECTOR_BATCH_SIZE,
    onProjected(batch) {
      options.onProjected([...batch.checkpoints]);
      if (batch.outbox) publisher.handOver(batch.outbox);
      else publisher.wake();
    },
    onLayoutChanged: options.onLayoutChanged,
  });
  return {
    assign(next) {
      partitions = next;
      runner.wake();
      publisher.wake();
    },
    wake: () => runner.wake(),
    counts: () => runner.counts(),
    publisher: () => publisher.stats(),
    async start() {
      await runner.start();
      publisher.start();
    },
    async stop() {
      await runner.stop();
      await publisher.stop();
    },
  };
};
