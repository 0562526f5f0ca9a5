import { type Config, migrateToLatest } from '@im/api';
import { openDatabase } from '@im/eventstore';
import type { EngineDatabase, EngineSchema } from '@im/projector';
import { afterAll, beforeAll } from 'vitest';
import { type CliProcess, configEnv, startEngineProcess, stopProcess } from './cli-process.ts';
import { connectClient, type TestClient, testConfig } from './harness.ts';
import { deleteStream } from './streams.ts';

/** Several engine processes on one database, each named `<INSTANCE_ID>-<name>` in the leases. */
export interface EngineProcesses {
  config: Config;
  /** The engines' database, to look at leases and rows from beside them. */
  database: EngineDatabase;
  client: TestClient;
  /** The running processes by their lease holder's name. */
  engines: Map<string, CliProcess>;
}

/**
 * Engine processes named `names` on one private database, for the enclosing describe block:
 * started before its tests, killed after them. The object is filled in when they have started.
 */
export const useEngineProcesses = (
  names: readonly string[],
  overrides: Record<string, string> = {},
): EngineProcesses => {
  const handle = { engines: new Map() } as EngineProcesses;
  beforeAll(async () => {
    handle.config = await testConfig(overrides);
    handle.database = await openDatabase<EngineSchema>({
      url: handle.config.DATABASE_URL,
      poolSize: 4,
    });
    await migrateToLatest(handle.database);
    for (const name of names) {
      const holder = `${handle.config.INSTANCE_ID}-${name}`;
      handle.engines.set(
        holder,
        await startEngineProcess(configEnv(handle.config, { INSTANCE_ID: holder })),
      );
    }
    handle.client = await connectClient(handle.config);
  }, 120_000);
  afterAll(async () => {
    for (const engine of handle.engines.values()) await stopProcess(engine, 'SIGKILL');
    await deleteStream(handle.client.nc, handle.config.STREAM_NAME);
    await handle.client.close();
    await handle.database.close();
  });
  return handle;
};
