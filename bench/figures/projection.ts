import { availableParallelism } from 'node:os';
import { openDatabase } from '@im/eventstore';
import { type EngineSchema, projectedUpTo } from '@im/projector';
import { sql } from 'kysely';
import { appendWorkload, workload } from '../../test/support/projector-workload.ts';
import { connectApi } from '../api-client.ts';
import { createBenchDatabase } from '../bench-database.ts';
import type { EngineEnv } from '../cli-process.ts';
import { spawnCli } from '../cli-process.ts';
import type { BenchContext } from '../context.ts';
import { startEngineProcess } from '../engine-process.ts';
import type { Figures } from '../figures.ts';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * The projection's throughput over a backlog: `plan.projectionEvents` mixed events (chats, groups
 * joined and left, @mentions, reads, pins, drafts, hides, deletes) appended straight to the log of
 * a database of its own, then projected by an engine with one projection thread, and again (the
 * read model emptied) with one per core. Timed from the engine's first answer until every
 * partition's checkpoint is at the end, less what it projected before answering; the callbacks are
 * published meanwhile, as they would be.
 */
export const measureProjection = async (
  context: BenchContext,
  env: EngineEnv,
): Promise<Figures> => {
  const { projectionEvents } = context.plan;
  const cores = availableParallelism();
  const database = await createBenchDatabase(context.adminUrl);
  const projectionEnv: EngineEnv = {
    ...env,
    DATABASE_URL: database.url,
    SUBJECT_PREFIX: `${database.name}.conversation`,
    STREAM_NAME: `BENCH_${database.name.slice('bench_'.length)}_PROJECTION`,
  };
  const db = await openDatabase<EngineSchema>({ url: database.url, poolSize: 4 });
  const api = await connectApi(context.natsUrl, projectionEnv.SUBJECT_PREFIX);
  try {
    const migrated = spawnCli(['migrate'], projectionEnv);
    if ((await migrated.exited).code !== 0) throw new Error(`migrate: ${migrated.tail.join('\n')}`);
    const appends = workload({
      events: projectionEvents,
      users: Math.round(projectionEvents / 40),
      groups: Math.round(projectionEvents / 2000),
      seed: 5,
    });
    const events = appends.reduce((sum, append) => sum + append.events.length, 0);
    context.progress(`appending ${events} mixed events for the projection`);
    await appendWorkload(db.db, appends, { concurrency: 4 });

    const rate = async (threads: number) => {
      await sql`TRUNCATE conversation_item, group_state, conversation_group, owner_unread, conversation_change`.execute(
        db.db,
      );
      await sql`DELETE FROM checkpoints WHERE name LIKE 'projector:%'`.execute(db.db);
      await sql`DELETE FROM publisher_checkpoint`.execute(db.db);
      context.progress(`projecting ${events} events with ${threads} projection thread(s)`);
      const engine = await startEngineProcess(projectionEnv, api, {
        PROJECTOR_THREADS: String(threads),
      });
      try {
        // The engine projects from its start on: what it did before answering is left out.
        const began = performance.now();
        const before = (await projectedUpTo(db.db)).handled;
        for (const deadline = Date.now() + 600_000; ; ) {
          const { handled } = await projectedUpTo(db.db);
          if (handled >= events) break;
          if (Date.now() > deadline) throw new Error(`projection stuck at ${handled} of ${events}`);
          await sleep(20);
        }
        return (events - before) / ((performance.now() - began) / 1000);
      } finally {
        await engine.stop();
      }
    };
    const one = await rate(1);
    const all = await rate(cores);
    context.note(
      `projection: ${events} mixed events in ${appends.length} appends, ${Math.round(one)}/s with 1 thread, ` +
        `${Math.round(all)}/s with ${cores} (one per core); 16 partitions, callbacks published meanwhile`,
    );
    return { projection_per_s_1: one, projection_per_s_n: all, projection_scaling: all / one };
  } finally {
    await db.close();
    const jsm = await api.nc.jetstreamManager();
    await jsm.streams.delete(projectionEnv.STREAM_NAME).catch(() => false);
    await api.close();
    await database.drop();
  }
};
