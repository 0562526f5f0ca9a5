import type { ConversationState } from '@im/domain';
import type { PartitionGroup } from '../read-model/columns.ts';
import type { ConversationGroupRow } from '../read-model/conversation-group-rows.ts';

const groupKey = (partition: number, conversationID: string) => `${partition}:${conversationID}`;

/**
 * Conversation rows and group rows in memory: rows by conversation then owner (a group message's
 * callbacks reach every member row held for its conversation), group rows by partition and
 * conversation (each partition that has members keeps its own).
 */
export const createStateSet = () => {
  const conversations = new Map<string, Map<string, ConversationState>>();
  const groups = new Map<string, PartitionGroup>();
  const conversationGroups = new Map<string, ConversationGroupRow>();
  let size = 0;
  return {
    get: (owner: string, conversationID: string) => conversations.get(conversationID)?.get(owner),
    /** Owners with a row in the conversation. */
    owners: (conversationID: string): string[] => [
      ...(conversations.get(conversationID)?.keys() ?? []),
    ],
    remember(state: ConversationState) {
      let rows = conversations.get(state.conversationID);
      if (!rows) {
        rows = new Map();
        conversations.set(state.conversationID, rows);
      }
      if (!rows.has(state.owner)) size += 1;
      rows.set(state.owner, state);
    },
    group: (partition: number, conversationID: string) =>
      groups.get(groupKey(partition, conversationID)),
    rememberGroup(group: PartitionGroup) {
      groups.set(groupKey(group.partition, group.conversationID), group);
    },
    /** Conversation rows held. */
    get size() {
      return size;
    },
    *values(): IterableIterator<ConversationState> {
      for (const rows of conversations.values()) yield* rows.values();
    },
    groupValues: (): IterableIterator<PartitionGroup> => groups.values(),
    /** An owner's conversation group as an event left it (deleted ones marked so). */
    rememberConversationGroup(row: ConversationGroupRow) {
      conversationGroups.set(`${row.owner}\u0000${row.conversationGroupID}`, row);
    },
    conversationGroupValues: (): IterableIterator<ConversationGroupRow> =>
      conversationGroups.values(),
  };
};

export type StateSet = ReturnType<typeof createStateSet>;
