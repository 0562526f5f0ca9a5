import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '@im/eventstore';
import { createCallbackPublisher, createProjectionRunner, type EngineSchema } from '@im/projector';
import { callbackPrefix } from '../config.ts';
import { createLogger } from '../logger.ts';
import { connectNats } from '../nats-connection.ts';
import type { FromWorker, ToWorker, WorkerData } from './worker-protocol.ts';

// A projection thread: it projects the partitions its process gives it, and publishes their
// callbacks, on a database pool and a NATS connection of its own.

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
let partitions: number[] = [];

const publisher = createCallbackPublisher({
  database,
  nc,
  subjectPrefix: callbackPrefix(config),
  logger: logger.child({ component: 'publisher' }),
  partitions: () => partitions,
});
const runner = createProjectionRunner({
  database,
  holder,
  logger: logger.child({ component: 'projector' }),
  partitionCount,
  partitions: () => partitions,
  onLeasesLost: () => post({ type: 'leases-lost' }),
  batchSize: config.PROJECTOR_BATCH_SIZE,
  onProjected(batch) {
    post({ type: 'projected', checkpoints: [...batch.checkpoints] });
    if (batch.outbox) publisher.handOver(batch.outbox);
    else publisher.wake();
  },
  onLayoutChanged: (now) => post({ type: 'layout-changed', partitions: now }),
});
const stats = setInterval(
  () => post({ type: 'stats', runner: runner.counts(), publisher: publisher.stats() }),
  STATS_EVERY_MS,
);

port.on('message', async (message: ToWorker) => {
  switch (message.type) {
    case 'assign':
      partitions = message.partitions;
      runner.wake();
      publisher.wake();
      return;
    case 'wake':
      runner.wake();
      return;
    case 'stop':
      clearInterval(stats);
      await runner.stop();
      await publisher.stop();
      await nc.drain().catch(() => {});
      await database.close();
      post({ type: 'stats', runner: runner.counts(), publisher: publisher.stats() });
      post({ type: 'stopped' });
      port.close();
  }
});
await runner.start();
publisher.start();
post({ type: 'ready' });
