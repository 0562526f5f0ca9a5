import { eventStoreMigrations } from '@im/eventstore';
import { type EngineDatabase, readModelMigrations } from '@im/projector';
import { type Migration, type MigrationResultSet, Migrator } from 'kysely/migration';

const allMigrations: Record<string, Migration> = {
  ...eventStoreMigrations,
  ...readModelMigrations,
};

/** Brings the schema to the latest version; safe to run on every start and from several processes. */
export const migrateToLatest = async (database: EngineDatabase): Promise<MigrationResultSet> => {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => allMigrations },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
};
