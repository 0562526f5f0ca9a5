import { type Database, type StreamQuery, type StreamState, streamVersions } from '@im/eventstore';
import DataLoader from 'dataloader';
import { perTurn } from './per-turn.ts';

/**
 * Reads streams' versions for commands that do not know them (a new conversation, another
 * process's append), one query for all the commands of a turn of the event loop.
 */
export const createVersionLoader = (database: Database) =>
  new DataLoader<StreamQuery, StreamState>(
    async (queries) => streamVersions(database.db, queries),
    perTurn,
  );

export type VersionLoader = ReturnType<typeof createVersionLoader>;
