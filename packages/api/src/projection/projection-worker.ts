import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '@im/eventstore';
import type { EngineSchema } from '@im/projector';
import { createLogger } from '../logger.ts';
import { connectNats } from '../nats-connection.ts';
import { createLocalLane } from './local-lane.ts';
import type { FromWorker, ToWorker, WorkerData } from './worker-protocol.ts';

// A projection thread: the lane its process gives it, on a database pool and a NATS connection of
// its own.

/** How often the thread tells its process its figures, for `$SRV.STATS`. */
const STATS_EVERY_MS = 250;

const port = parentPort;
if (!port) throw new Error('projection-worker.ts runs in a worker thread');
const { config, partitionCount, holder, index } = workerData as WorkerData;
const post = (message: FromWorker) => port.postMessage(message);
const logger = createLogger({
  level: config.LOG_LEVEL,
  base: { instance: config.INSTANCE_ID, thread: index },
});
const database = await openDatabase<EngineSchema>({
  url: config.DATABASE_URL as string,
  poolSize: 4,
});
const nc = await connectNats(config, `${config.INSTANCE_ID} projection ${index}`, logger);
const lane = createLocalLane({
  config,
  database,
  nc,
  logger,
  holder,
  partitionCount,
  onProjected: (checkpoints) => post({ type: 'projected', checkpoints: [...checkpoints] }),
  onLeasesLost: () => post({ type: 'leases-lost' }),
  onLayoutChanged: (now) => post({ type: 'layout-changed', partitions: now }),
});
const report = () =>
  post({ type: 'stats', runner: lane.counts(), publisher: lane.publisher() as never });
const stats = setInterval(report, STATS_EVERY_MS);

port.on('message', async (message: ToWorker) => {
  switch (message.type) {
    case 'assign':
      return lane.assign(message.partitions);
    case 'wake':
      return lane.wake();
    case 'stop':
      clearInterval(stats);
      await lane.stop();
      await nc.drain().catch(() => {});
      await database.close();
      report();
      post({ type: 'stopped' });
      port.close();
  }
});
await lane.start();
post({ type: 'ready' });
