import { eventStoreMigrations } from '@im/eventstore';
import { type EngineDatabase, type EngineSchema, readModelMigrations } from '@im/projector';
import { openMigratedDatabase } from './migrated-database.ts';

/** A test database with the event log's and the read model's tables (a fresh one unless `url`). */
export const openEngineDatabase = (url?: string): Promise<EngineDatabase> =>
  openMigratedDatabase<EngineSchema>({ ...eventStoreMigrations, ...readModelMigrations }, url);
