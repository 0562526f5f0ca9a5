import { type Database, openDatabase } from '@im/eventstore';
import { type Migration, Migrator } from 'kysely/migration';
import { createTestDatabase } from './harness.ts';

/**
 * A test database (a fresh one unless `url` names one), migrated with `migrations` (the event
 * log's, and the read model's).
 */
export const openMigratedDatabase = async (
  migrations: Record<string, Migration>,
  url?: string,
): Promise<Database> => {
  const database = await openDatabase({ url: url ?? (await createTestDatabase()) });
  const migrated = await new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
  }).migrateToLatest();
  if (migrated.error) throw migrated.error;
  return database;
};
