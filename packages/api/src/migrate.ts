import { type Database, eventStoreMigrations } from '@im/eventstore';
import { readModelMigrations } from '@im/projector';
import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration';

const allMigrations: Record<string, Migration> = {
  ...eventStoreMigrations,
  ...readModelMigrations,
};

/** Brings the schema to the latest version; safe to run on every start and from several processes. */
export const migrateToLatest = async (database: Database): Promise<MigrationResultSet> => {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => allMigrations },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
};
