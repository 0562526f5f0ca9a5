import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { CompiledQuery } from 'kysely';

/**
 * The worker's code: one connection, one query at a time, the first row posted back. Plain
 * JavaScript needing only `pg`, so it runs in a worker thread without a TypeScript loader.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const pg = require(workerData.pg);
const client = new pg.Client({ connectionString: workerData.url, options: '-c jit=off' });
client.on('error', () => {});
const connected = client.connect();
parentPort.on('message', async ({ id, text, values, end }) => {
  if (end) {
    await client.end().catch(() => {});
    parentPort.close();
    return;
  }
  try {
    await connected;
    const result = await client.query({ text, values });
    parentPort.postMessage({ id, row: result.rows[0] ?? null });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface Reply {
  id: number;
  row?: Record<string, unknown> | null;
  error?: string;
}

/**
 * Runs queries on a connection of its own in a worker thread. Receiving a large result (the
 * socket reads, the protocol decoding, the text assembled) then happens beside the main thread,
 * while it works on the previous result, instead of in turn with it.
 */
export const createQueryWorker = (url: string) => {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { url, pg: createRequire(import.meta.url).resolve('pg') },
  });
  const waiting = new Map<
    number,
    { resolve: (row: unknown) => void; reject: (e: Error) => void }
  >();
  let next = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  worker.on('message', ({ id, row, error }: Reply) => {
    const waiter = waiting.get(id);
    waiting.delete(id);
    if (error === undefined) waiter?.resolve(row);
    else waiter?.reject(new Error(error));
  });
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('the query worker stopped')));
  return {
    /** The first row of the query's result, or null. */
    firstRow<Row>(query: CompiledQuery<Row>): Promise<Row | null> {
      if (failure) return Promise.reject(failure);
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (row: unknown) => void, reject });
        worker.postMessage({ id, text: query.sql, values: query.parameters });
      });
    },
    /** Ends the connection, then the thread. */
    async close() {
      worker.removeAllListeners('exit');
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ end: true });
      await exited;
    },
  };
};

export type QueryWorker = ReturnType<typeof createQueryWorker>;
