import type { Logger } from '@im/domain';
import type { Checkpoint } from '@im/eventstore';
import {
  createProjectionDuties,
  type EngineDatabase,
  type ProjectorStats,
  type PublisherStats,
  type RunnerCounts,
} from '@im/projector';
import type { NatsConnection } from 'nats';
import type { Config } from '../config.ts';
import type { LaneEvents, ProjectionLane } from './lane.ts';
import { createLocalLane } from './local-lane.ts';
import { createWorkerLane } from './worker-lane.ts';

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
  /**
   * Projection threads, this one included: partition p is projected by thread p mod threads,
   * thread 0 being this one and the others worker threads. 1 projects in this thread only (the
   * only way with the embedded PGlite, which has one connection in this thread).
   */
  threads: number;
  onProjected(checkpoints: ReadonlyArray<[number, Checkpoint]>): void;
  onLayoutChanged(partitions: number): void;
}

/** The publishers' figures together: sums, the worst status, the latest error. */
const togetherPublishers = (all: readonly PublisherStats[]): PublisherStats => ({
  status: all.every((p) => p.status === 'ok') ? 'ok' : 'degraded',
  connected: all.every((p) => p.connected),
  published: all.reduce((sum, p) => sum + p.published, 0),
  failures: all.reduce((sum, p) => sum + p.failures, 0),
  backlog: all.reduce((sum, p) => sum + p.backlog, 0),
  lastError: all.find((p) => p.lastError)?.lastError,
  lastPublishedAt: Math.max(0, ...all.map((p) => p.lastPublishedAt ?? 0)) || undefined,
});

/** The lanes' counts together: sums, and the latest batch of any. */
const togetherCounts = (all: readonly RunnerCounts[]): RunnerCounts => {
  const latest = [...all].sort((a, b) => (b.lastBatchAt ?? 0) - (a.lastBatchAt ?? 0))[0];
  return {
    eventsProjected: all.reduce((sum, c) => sum + c.eventsProjected, 0),
    batches: all.reduce((sum, c) => sum + c.batches, 0),
    polls: all.reduce((sum, c) => sum + c.polls, 0),
    lastBatchAt: latest?.lastBatchAt,
    lastBatch: latest?.lastBatch,
  };
};

/**
 * This process's projection: it holds its share of the partitions' leases (and reports their lag,
 * and keeps statistics fresh), and projects them on `threads` lanes, one in this thread and the
 * others on worker threads, each with a database pool and a NATS connection of its own, so that
 * one process uses every core. A partition stays on one lane (p mod threads): moving partitions
 * between processes never moves them between threads here.
 */
export const createProjectionHost = (options: ProjectionHostOptions): ProjectionHost => {
  const { config, logger } = options;
  const holder = config.INSTANCE_ID;
  const count = Math.max(1, options.threads);
  const events: LaneEvents = {
    onProjected: options.onProjected,
    onLeasesLost: () => void duties.leases.lost(),
    onLayoutChanged: options.onLayoutChanged,
  };
  const lanes: ProjectionLane[] = [
    createLocalLane({
      ...events,
      config,
      database: options.database,
      nc: options.nc,
      logger,
      holder,
      partitionCount: options.partitions,
    }),
    ...Array.from({ length: count - 1 }, (_, i) =>
      createWorkerLane({
        ...events,
        config,
        logger,
        holder,
        partitionCount: options.partitions,
        index: i + 1,
      }),
    ),
  ];
  const assigned = lanes.map(() => '');
  const assign = () => {
    const held = duties.leases.held();
    lanes.forEach((lane, index) => {
      const mine = held.filter((p) => p % count === index);
      if (mine.join() === assigned[index]) return;
      assigned[index] = mine.join();
      lane.assign(mine);
    });
  };
  const duties = createProjectionDuties({
    database: options.database,
    holder,
    logger: logger.child({ component: 'projector' }),
    partitions: options.partitions,
    onChange: () => assign(),
    projected: () => togetherCounts(lanes.map((lane) => lane.counts())).eventsProjected,
  });

  return {
    held: () => duties.leases.held(),
    stats: () => ({
      projector: {
        leader: duties.leases.held().length > 0,
        held: duties.leases.held(),
        ...togetherCounts(lanes.map((lane) => lane.counts())),
        ...duties.figures(),
      },
      publisher: togetherPublishers(
        lanes.flatMap((lane) => {
          const stats = lane.publisher();
          return stats ? [stats] : [];
        }),
      ),
    }),
    wake() {
      for (const lane of lanes) lane.wake();
    },
    async start() {
      await Promise.all(lanes.map((lane) => lane.start()));
      await duties.start();
      assign();
    },
    async stop() {
      await Promise.all(lanes.map((lane) => lane.stop()));
      await duties.stop();
    },
  };
};
