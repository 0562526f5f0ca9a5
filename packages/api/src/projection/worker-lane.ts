import type { Worker } from 'node:worker_threads';
import type { Logger } from '@im/domain';
import { type PublisherStats, type RunnerCounts, startThread, threadEntry } from '@im/projector';
import type { Config } from '../config.ts';
import type { LaneEvents, ProjectionLane } from './lane.ts';
import type { FromWorker, ToWorker, WorkerData } from './worker-protocol.ts';

/** The worker's module beside this one: TypeScript from source, JavaScript in the build (dist/). */
const ENTRY = threadEntry(import.meta.url, './projection-worker.ts', './projection-worker.mjs');

const RESPAWN_MS = 1000;
const STOP_WAIT_MS = 10_000;

const noCounts = (): RunnerCounts => ({
  eventsProjected: 0,
  batches: 0,
  polls: 0,
  lastBatchAt: undefined,
  lastBatch: undefined,
});

/** Starts the projection worker thread (projection-worker.ts), from source through tsx or as JavaScript. */
const launchWorker = (options: WorkerData) =>
  startThread(
    ENTRY,
    {
      config: options.config,
      partitionCount: options.partitionCount,
      holder: options.holder,
      index: options.index,
    },
    {
      name: `projection ${options.index}`,
      // The young generation `pnpm start` gives the main thread (--max-semi-space-size=4).
      resourceLimits: { maxYoungGenerationSizeMb: 12 },
    },
  );

/** Hands a worker's message to the lane's events, or to the lane itself (its stats, its stop). */
const dispatch = (
  message: FromWorker,
  events: LaneEvents,
  lane: {
    stats(runner: RunnerCounts, publisher: PublisherStats | undefined): void;
    stopped(): void;
  },
) => {
  switch (message.type) {
    case 'projected':
      return events.onProjected(message.checkpoints);
    case 'leases-lost':
      return events.onLeasesLost();
    case 'layout-changed':
      return events.onLayoutChanged(message.partitions);
    case 'stats':
      return lane.stats(message.runner, message.publisher);
    case 'stopped':
      return lane.stopped();
  }
};

/**
 * A lane on a worker thread of its own (projection-worker.ts), so that a process uses more than
 * one core. A thread that dies is started again with the same partitions, whose leases stay this
 * process's meanwhile.
 */
export const createWorkerLane = (
  options: {
    config: Config;
    logger: Logger;
    holder: string;
    partitionCount: number;
    index: number;
  } & LaneEvents,
): ProjectionLane => {
  const { logger, index } = options;
  let partitions: readonly number[] = [];
  let counts = noCounts();
  let publisher: PublisherStats | undefined;
  let stopping = false;
  let worker: Worker;
  let ready: Promise<void> = Promise.resolve();
  let stopped = () => {};
  const send = (message: ToWorker) => worker.postMessage(message);

  const onMessage = (message: FromWorker) =>
    dispatch(message, options, {
      stats(runner, stats) {
        counts = runner;
        publisher = stats;
      },
      stopped: () => stopped(),
    });

  const spawn = () => {
    worker = launchWorker(options);
    let started = () => {};
    ready = new Promise((resolve) => {
      started = resolve;
    });
    worker.on('message', (message: FromWorker) => {
      if (message.type !== 'ready') return onMessage(message);
      started();
      if (partitions.length > 0) send({ type: 'assign', partitions: [...partitions] });
    });
    worker.on('error', (error) =>
      logger.error('projection thread failed', { thread: index, error }),
    );
    worker.on('exit', (code) => {
      if (stopping) return;
      logger.error('projection thread exited; starting it again', { thread: index, code });
      setTimeout(() => {
        if (!stopping) spawn();
      }, RESPAWN_MS);
    });
  };

  return {
    assign(next) {
      partitions = next;
      send({ type: 'assign', partitions: [...next] });
    },
    wake: () => send({ type: 'wake' }),
    counts: () => counts,
    publisher: () => publisher,
    async start() {
      spawn();
      await ready;
    },
    async stop() {
      stopping = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          void worker.terminate();
          resolve();
        }, STOP_WAIT_MS);
        stopped = () => {
          clearTimeout(timer);
          resolve();
        };
        send({ type: 'stop' });
      });
    },
  };
};
