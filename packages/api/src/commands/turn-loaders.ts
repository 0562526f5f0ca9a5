import type { ConversationState } from '@im/domain';
import { type StreamQuery, type StreamState, streamVersions } from '@im/eventstore';
import {
  type ConversationKey,
  type DecisionRead,
  type EngineDatabase,
  readModel,
} from '@im/projector';
import DataLoader from 'dataloader';

/**
 * The reads of concurrent commands, each kind batched by turn of the event loop: the loads made in
 * one turn go out as one query once the turn is over, so under load a command costs PostgreSQL a
 * share of one statement instead of one of its own. Nothing is kept for the next turn: a read
 * that joins a later batch is only newer.
 */
const perTurn = {
  cache: false,
  batchScheduleFn: (run: () => void) => setImmediate(run),
} as const;

const keyOf = ({ owner, conversationID }: ConversationKey) => `${owner}\u0000${conversationID}`;

/**
 * What owner commands decide on: a conversation, the owner stream's version, and whether the
 * projector has passed the conversation's streams.
 */
export const createDecisionStateLoader = (database: EngineDatabase, partitions: number) =>
  new DataLoader<ConversationKey, DecisionRead<ConversationState | undefined>, string>(
    (keys) => readModel.decisionStatesAt(database.db, keys, partitions),
    { ...perTurn, cacheKeyFn: keyOf },
  );

export type DecisionStateLoader = ReturnType<typeof createDecisionStateLoader>;

/** Conversations as they are now, for the replies of commands and queries. */
export const createStateLoader = (database: EngineDatabase) =>
  new DataLoader<ConversationKey, ConversationState | undefined, string>(
    async (keys) => {
      const states = await readModel.getConversationStatesAt(database.db, keys);
      const byKey = new Map(states.map((state) => [keyOf(state), state]));
      return keys.map((key) => byKey.get(keyOf(key)));
    },
    { ...perTurn, cacheKeyFn: keyOf },
  );

export type StateLoader = ReturnType<typeof createStateLoader>;

/** Message streams' versions, for messages whose stream this process does not know. */
export const createVersionLoader = (database: EngineDatabase) =>
  new DataLoader<StreamQuery, StreamState>(
    async (queries) => streamVersions(database.db, queries),
    perTurn,
  );

export type VersionLoader = ReturnType<typeof createVersionLoader>;
