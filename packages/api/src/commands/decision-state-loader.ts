import type { ConversationState } from '@im/domain';
import {
  type ConversationKey,
  type DecisionRead,
  type EngineDatabase,
  readModel,
} from '@im/projector';
import DataLoader from 'dataloader';
import { perTurn } from './per-turn.ts';

const keyOf = ({ owner, conversationID }: ConversationKey) => `${owner}\u0000${conversationID}`;

/**
 * Reads what owner commands decide on (a conversation, the owner stream's version, whether the
 * projector has passed the conversation's streams), one statement for all the commands decided in
 * the same turn of the event loop. Nothing is kept between turns.
 */
export const createDecisionStateLoader = (database: EngineDatabase) =>
  new DataLoader<ConversationKey, DecisionRead<ConversationState | undefined>, string>(
    (keys) => readModel.decisionStatesAt(database.db, keys),
    { ...perTurn, cacheKeyFn: keyOf },
  );

export type DecisionStateLoader = ReturnType<typeof createDecisionStateLoader>;
