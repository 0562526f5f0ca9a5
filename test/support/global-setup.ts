import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import './provided-context.ts';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** PostgreSQL and NATS in containers where a Docker engine answers; otherwise the URLs given. */
const startContainers = async (): Promise<
  { databaseUrl: string; natsUrl: string; stop: () => Promise<void> } | undefined
> => {
  if (process.env.TEST_DATABASE_URL || process.env.TEST_NATS_URL) return undefined;
  try {
    const { getContainerRuntimeClient, GenericContainer, Wait } = await import('testcontainers');
    await getContainerRuntimeClient();
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const postgres = await new PostgreSqlContainer('postgres:15-alpine').start();
    const nats = await new GenericContainer('nats:2.10-alpine')
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start();
    return {
      databaseUrl: postgres.getConnectionUri(),
      natsUrl: `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`,
      stop: async () => {
        await nats.stop();
        await postgres.stop();
      },
    };
  } catch {
    return undefined;
  }
};

export default async function setup(project: TestProject) {
  const runId = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const containers = await startContainers();
  const adminDatabaseUrl =
    containers?.databaseUrl ?? process.env.TEST_DATABASE_URL ?? DEFAULT_DATABASE_URL;
  project.provide('adminDatabaseUrl', adminDatabaseUrl);
  project.provide('natsUrl', containers?.natsUrl ?? process.env.TEST_NATS_URL ?? DEFAULT_NATS_URL);
  project.provide('runId', runId);

  return async () => {
    // Every database this run made carries its runId: drop them all, whatever test made them.
    const admin = new pg.Client({ connectionString: adminDatabaseUrl });
    await admin.connect();
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${runId}_%`],
    );
    for (const { datname } of rows)
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.end();
    await containers?.stop();
  };
}
