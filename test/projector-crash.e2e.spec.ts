import { type Config, migrateToLatest } from '@im/api';
import { openDatabase } from '@im/eventstore';
import { type EngineDatabase, type EngineSchema, projectedUpTo } from '@im/projector';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliProcess,
  configEnv,
  runCli,
  startEngineProcess,
  stopProcess,
} from './support/cli-process.ts';
import { testConfig } from './support/harness.ts';
import { appendWorkload, workload } from './support/projector-workload.ts';
import { deleteStream } from './support/streams.ts';

const handled = async (database: EngineDatabase) => (await projectedUpTo(database.db)).handled;

describe('the projector killed with SIGKILL during a large catch-up', () => {
  let config: Config;
  let database: EngineDatabase;
  let engine: CliProcess | undefined;
  const appends = workload({ events: 20_000, users: 400, groups: 12, seed: 3 });
  const total = appends.reduce((sum, append) => sum + append.events.length, 0);

  beforeAll(async () => {
    config = await testConfig({ PROJECTOR_BATCH_SIZE: '500', PROJECTOR_THREADS: '2' });
    database = await openDatabase<EngineSchema>({ url: config.DATABASE_URL, poolSize: 8 });
    await migrateToLatest(database);
    // Appended straight to the log: the engine finds a backlog it has to catch up with.
    await appendWorkload(database.db, appends, { concurrency: 6 });
  }, 300_000);
  afterAll(async () => {
    if (engine) await stopProcess(engine, 'SIGKILL');
    await database.close();
    const nc = await connect({ servers: config.NATS_URL });
    await deleteStream(nc, config.STREAM_NAME);
    await nc.close();
  });

  it('resumes where the last commit left off: every event applied once, and verify finds the read model equal', async () => {
    const env = configEnv(config);
    const thresholds = [1000, 4500, 8000, 12_000, 16_000];
    const killedAt: number[] = [];
    for (const threshold of thresholds) {
      engine = await startEngineProcess(env);
      const deadline = Date.now() + 120_000;
      while ((await handled(database)) < threshold && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const exit = await stopProcess(engine, 'SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      killedAt.push(await handled(database));
    }
    // Each kill landed during the catch-up, after the threshold and before the end.
    expect(killedAt.every((at, i) => at >= (thresholds[i] ?? 0))).toBe(true);
    expect(killedAt.every((at) => at < total)).toBe(true);

    engine = await startEngineProcess(env);
    const deadline = Date.now() + 120_000;
    while ((await handled(database)) < total && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await stopProcess(engine);
    engine = undefined;
    // The checkpoint counts each event it covers once: no batch was applied twice or lost.
    expect(await handled(database)).toBe(total);

    const verify = await runCli(['verify'], env);
    expect(verify.stdout).toMatch(/^equal: /);
    expect(verify.code).toBe(0);
  }, 600_000);
});
