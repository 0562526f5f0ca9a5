import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface BenchDatabase {
  name: string;
  url: string;
  serverVersion: string;
  drop(): Promise<void>;
}

const withAdmin = async <T>(adminUrl: string, work: (client: pg.Client) => Promise<T>) => {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};

/** A database of the bench's own on the server at `adminUrl`, dropped by `drop()`. */
export const createBenchDatabase = async (adminUrl: string): Promise<BenchDatabase> => {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const serverVersion = await withAdmin(adminUrl, async (client) => {
    await client.query(`CREATE DATABASE "${name}"`);
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]
      ?.server_version as string;
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    serverVersion,
    drop: () =>
      withAdmin(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }),
  };
};
