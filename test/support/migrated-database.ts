import { type Database, type EventStoreSchema, openDatabase } from '@im/eventstore';
import { type Migration, Migrator } from 'kysely/migration';
import { createTestDatabase } from './harness.ts';

/**
 * A test database (a fresh one unless `url` names one), migrated with `migrations` (the event
 * log's, and the read model's); `Schema` types the tables they make.
 */
export const openMigratedDatabase = async <Schema extends EventStoreSchema = EventStoreSchema>(
  migrations: Record<string, Migration>,
  url?: string,
): Promise<Database<Schema>> => {
  const database = await openDatabase<Schema>({ url: url ?? (await createTestDatabase()) });
  const migrated = await new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
  }).migrateToLatest();
  if (migrated.error) throw migrated.error;
  return database;
};
