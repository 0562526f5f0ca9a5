// A worker thread's share of a replay (see buildInThreads): folds the whole log for its
// partitions' owners, in memory, and writes their rows into the scratch tables it is given.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '@im/eventstore';
import type { EngineSchema } from '../read-model/schema.ts';
import { livePositions } from './pending-changes.ts';
import { createReplay } from './replay.ts';
import type { ThreadReport, ThreadTask } from './replay-threads.ts';

const task = workerData as ThreadTask;
const port = parentPort as NonNullable<typeof parentPort>;
const report = (message: ThreadReport) => port.postMessage(message);

const run = async () => {
  const database = await openDatabase<EngineSchema>({ url: task.url, poolSize: 4 });
  try {
    const replay = createReplay({
      db: database.db,
      // The table's secondary indexes are built once, by the thread that started this one.
      table: { tables: task.tables, createIndexes: async () => {} },
      partitions: task.partitions,
      only: task.only,
      batchSize: task.batchSize,
      cacheRows: task.cacheRows,
      indexes: false,
      onEvents: (events) => report({ type: 'events', events }),
    });
    replay.projectedUpTo(livePositions(task.live.count, task.live.positions));
    await replay.build(task.upTo);
    report({
      type: 'built',
      position: replay.position(),
      handled: replay.handled(),
      unprojected: replay.unprojected(),
    });
  } finally {
    await database.close();
  }
};

run().catch((error: unknown) =>
  report({ type: 'failed', error: error instanceof Error ? error.message : String(error) }),
);
