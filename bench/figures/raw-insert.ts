import pg from 'pg';
import { runClosedLoop } from '../closed-loop.ts';
import type { BenchContext } from '../context.ts';
import type { Figures } from '../figures.ts';

const CLIENTS = 32;

/**
 * Baseline: what PostgreSQL on this machine commits with nothing in between. Each INSERT runs in
 * autocommit, so it is its own transaction with its own commit; 32 connections, one each.
 */
export const measureRawInsert = async (context: BenchContext): Promise<Figures> => {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const client = new pg.Client({ connectionString: context.database.url });
      await client.connect();
      return client;
    }),
  );
  try {
    await clients[0]?.query(
      `CREATE TABLE bench_raw_insert (
         id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    const payload = JSON.stringify({ content: 'hello' });
    const result = await runClosedLoop({
      inFlight: CLIENTS,
      warmupMs: context.plan.warmupMs,
      windowMs: context.plan.windowMs,
      operation: async (worker) => {
        await clients[worker]?.query('INSERT INTO bench_raw_insert (payload) VALUES ($1)', [
          payload,
        ]);
        return true;
      },
    });
    await clients[0]?.query('DROP TABLE bench_raw_insert');
    return { raw_insert_tps: result.perSecond };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
};
