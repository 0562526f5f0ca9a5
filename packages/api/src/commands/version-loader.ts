import { type StreamQuery, type StreamState, streamVersions } from '@im/eventstore';
import type { EngineDatabase } from '@im/projector';
import DataLoader from 'dataloader';
import { perTurn } from './per-turn.ts';

/**
 * Reads streams' versions for commands that do not know them (a new conversation, another
 * process's append), one query for all the commands of a turn of the event loop.
 */
export const createVersionLoader = (database: EngineDatabase) =>
  new DataLoader<StreamQuery, StreamState>(
    async (queries) => streamVersions(database.db, queries),
    perTurn,
  );

export type VersionLoader = ReturnType<typeof createVersionLoader>;
