import { Worker } from 'node:worker_threads';
import type { Logger } from '@im/domain';
import type { Checkpoint } from '@im/eventstore';
import {
  createProjectionDuties,
  type EngineDatabase,
  type ProjectorStats,
  type PublisherStats,
  type RunnerCounts,
} from '@im/projector';
import type { Config } from '../config.ts';
import type { FromWorker, ToWorker, WorkerData } from './worker-protocol.ts';

/**
 * Starts the thread's module: TypeScript through tsx's loader (the engine runs from source),
 * JavaScript as it is. Plain JavaScript itself, as `eval` code needs no loader.
 */
const LAUNCH = `
const { workerData } = require('node:worker_threads');
const { entry, tsx } = workerData.launch;
(entry.endsWith('.ts')
  ? import(tsx).then((api) => api.tsImport(entry, entry))
  : import(entry))
  .catch((error) => { console.error(error); process.exit(1); });
`;

const ENTRY = new URL('./projection-worker.ts', import.meta.url).href;
/** tsx's ESM API, where the engine runs from source; none in a build without tsx. */
const tsxApi = () => {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return '';
  }
};

const RESPAWN_MS = 1000;
const STOP_WAIT_MS = 10_000;

interface Thread {
  index: number;
  worker: Worker;
  partitions: number[];
  ready: Promise<void>;
  runner: RunnerCounts;
  publisher: PublisherStats | undefined;
  stopped?: () => void;
}

const noCounts = (): RunnerCounts => ({
  eventsProjected: 0,
  batches: 0,
  polls: 0,
  lastBatchAt: undefined,
  lastBatch: undefined,
});

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

/** The threads' counts together: sums, and the latest batch of any. */
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

export interface ProjectionThreadsOptions {
  config: Config;
  database: EngineDatabase;
  holder: string;
  logger: Logger;
  /** The database's number of partitions. */
  partitions: number;
  /** Projection threads: partition p is projected by thread p mod threads. */
  threads: number;
  /** Told of each batch a thread projected: where its partitions got. */
  onProjected(checkpoints: ReadonlyArray<[number, Checkpoint]>): void;
  onLayoutChanged(partitions: number): void;
}

/**
 * The projection of this process's partitions on worker threads, so that one process uses every
 * core: this thread holds the leases (and reports the lag, and keeps statistics fresh); each
 * projection thread projects its share of the partitions held and publishes their callbacks, on
 * a database pool and a NATS connection of its own. A partition stays on one thread (p mod
 * threads), so moving partitions between processes never moves them between threads here.
 */
export const createProjectionThreads = (options: ProjectionThreadsOptions) => {
  const { logger, threads: count } = options;
  const threads: Thread[] = [];
  let stopping = false;
  const duties = createProjectionDuties({
    database: options.database,
    holder: options.holder,
    logger: logger.child({ component: 'projector' }),
    partitions: options.partitions,
    onChange: () => assign(),
    projected: () => togetherCounts(threads.map((t) => t.runner)).eventsProjected,
  });
  const send = (thread: Thread, message: ToWorker) => thread.worker.postMessage(message);

  const assign = () => {
    const held = duties.leases.held();
    for (const thread of threads) {
      const mine = held.filter((p) => p % count === thread.index);
      if (mine.join() === thread.partitions.join()) continue;
      thread.partitions = mine;
      send(thread, { type: 'assign', partitions: mine });
    }
  };

  const onMessage = (thread: Thread, message: FromWorker) => {
    switch (message.type) {
      case 'projected':
        return options.onProjected(message.checkpoints);
      case 'leases-lost':
        return void duties.leases.lost();
      case 'layout-changed':
        return options.onLayoutChanged(message.partitions);
      case 'stats':
        thread.runner = message.runner;
        thread.publisher = message.publisher;
        return;
      case 'stopped':
        return thread.stopped?.();
    }
  };

  const spawn = (index: number): Thread => {
    const data: WorkerData & { launch: { entry: string; tsx: string } } = {
      config: options.config,
      partitionCount: options.partitions,
      holder: options.holder,
      index,
      launch: { entry: ENTRY, tsx: tsxApi() },
    };
    const worker = new Worker(LAUNCH, {
      eval: true,
      workerData: data,
      name: `projection ${index}`,
    });
    let ready = () => {};
    const thread: Thread = {
      index,
      worker,
      partitions: [],
      ready: new Promise((resolve) => {
        ready = resolve;
      }),
      runner: noCounts(),
      publisher: undefined,
    };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        ready();
        if (thread.partitions.length > 0)
          send(thread, { type: 'assign', partitions: thread.partitions });
        return;
      }
      onMessage(thread, message);
    });
    worker.on('error', (error) =>
      logger.error('projection thread failed', { thread: index, error }),
    );
    worker.on('exit', (code) => {
      if (stopping) return;
      // Its partitions wait meanwhile; their leases are this process's still.
      logger.error('projection thread exited; starting it again', { thread: index, code });
      setTimeout(() => {
        if (stopping) return;
        const again = spawn(index);
        again.partitions = thread.partitions;
        threads[threads.indexOf(thread)] = again;
      }, RESPAWN_MS);
    });
    return thread;
  };

  return {
    held: () => duties.leases.held(),
    stats: (): { projector: ProjectorStats; publisher: PublisherStats } => ({
      projector: {
        leader: duties.leases.held().length > 0,
        held: duties.leases.held(),
        ...togetherCounts(threads.map((t) => t.runner)),
        ...duties.figures(),
      },
      publisher: togetherPublishers(threads.flatMap((t) => (t.publisher ? [t.publisher] : []))),
    }),
    /** Wakes every thread: this process just appended. */
    wake() {
      for (const thread of threads) send(thread, { type: 'wake' });
    },
    async start() {
      for (let index = 0; index < count; index++) threads.push(spawn(index));
      await Promise.all(threads.map((thread) => thread.ready));
      await duties.start();
      assign();
    },
    async stop() {
      stopping = true;
      await Promise.all(
        threads.map(
          (thread) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                void thread.worker.terminate();
                resolve();
              }, STOP_WAIT_MS);
              thread.stopped = () => {
                clearTimeout(timer);
                resolve();
              };
              send(thread, { type: 'stop' });
            }),
        ),
      );
      await duties.stop();
    },
  };
};

export type ProjectionThreads = ReturnType<typeof createProjectionThreads>;
