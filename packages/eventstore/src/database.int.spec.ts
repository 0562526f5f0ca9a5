import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/harness.ts';
import { type Database, openDatabase } from './database.ts';

describe('LISTEN on PostgreSQL', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ url: await createTestDatabase() });
  });
  afterAll(() => database.close());

  it('hears notifications again after its connection is killed', async () => {
    const heard: string[] = [];
    await database.listen('probe', (payload) => heard.push(payload));
    await sql`SELECT pg_notify('probe', 'before')`.execute(database.db);
    await expect.poll(() => heard).toContain('before');

    const killed = await sql<{ killed: boolean }>`
      SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
      WHERE datname = current_database() AND query LIKE 'LISTEN%'`.execute(database.db);
    expect(killed.rows.map((row) => row.killed)).toContain(true);

    // Notifications sent while it reconnects are lost by design (polling covers them): keep
    // notifying until one arrives on the new connection.
    await expect
      .poll(
        async () => {
          await sql`SELECT pg_notify('probe', 'after')`.execute(database.db);
          return heard.includes('after');
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(true);
  });
});
