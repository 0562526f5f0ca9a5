import { eventStoreMigrations } from '@im/eventstore';
import { type EngineDatabase, readModelMigrations } from '@im/projector';
import type { Migration } from 'kysely/migration';
import { afterAll, expect, it } from 'vitest';
import { openMigratedDatabase } from '../../../test/support/migrated-database.ts';
import { migrateToLatest } from './migrate.ts';

const all: Record<string, Migration> = { ...eventStoreMigrations, ...readModelMigrations };

/**
 * The migrations databases in use have run (main as of 2026-11-30 morning): every later one must
 * sort after all of them, or those databases stop at start ("corrupted migrations"). Add a name
 * here once a release that has it is out.
 */
const RELEASED = [
  '0001_event_log',
  '0002_event_schema_version',
  '0100_conversation_read_model',
  '0101_owner_unread',
  '0102_group_rows',
  '0103_partitions',
].filter((name) => name in all);

let database: EngineDatabase | undefined;
afterAll(() => database?.close());

it('upgrades a database that ran the released migrations: every later one sorts after them', async () => {
  const newer = Object.keys(all).filter((name) => !RELEASED.includes(name));
  const lastReleased = [...RELEASED].sort().at(-1) as string;
  expect(newer.filter((name) => name < lastReleased)).toEqual([]);

  const before = Object.fromEntries(RELEASED.map((name) => [name, all[name] as Migration]));
  database = (await openMigratedDatabase(before)) as unknown as EngineDatabase;
  const result = await migrateToLatest(database);
  expect(result.results?.map((r) => [r.migrationName, r.status])).toEqual(
    newer.sort().map((name) => [name, 'Success']),
  );
});
