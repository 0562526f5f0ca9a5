import type { ConversationState } from '@im/domain';
import { type EngineDatabase, readModel } from '@im/projector';
import DataLoader from 'dataloader';
import { perTurn } from './per-turn.ts';

export interface StateKey {
  owner: string;
  conversationID: string;
}

const keyOf = ({ owner, conversationID }: StateKey) => `${owner}\u0000${conversationID}`;

/**
 * Reads conversation states for commands, one query for all the commands being decided in the
 * same turn of the event loop: under load a command costs PostgreSQL a share of one statement
 * instead of one of its own. Nothing is cached between turns; a state is read after the caller
 * waited for the projection it needs, and a read that joins a later batch is only newer.
 */
export const createStateLoader = (database: EngineDatabase) =>
  new DataLoader<StateKey, ConversationState | undefined, string>(
    async (keys) => {
      const states = await readModel.getConversationStatesAt(database.db, keys);
      const byKey = new Map(states.map((state) => [keyOf(state), state]));
      return keys.map((key) => byKey.get(keyOf(key)));
    },
    { ...perTurn, cacheKeyFn: keyOf },
  );

export type StateLoader = ReturnType<typeof createStateLoader>;
