import {
  type ConversationGroupDefinitionEvent,
  type ConversationState,
  unreadContribution,
} from '@im/domain';
import type { ConversationGroupRow } from '../read-model/conversation-group-rows.ts';

/** Whether a conversation is listed and what it adds to a total: what its groups count. */
const counted = (state: ConversationState | undefined) =>
  state ? `${state.isHidden ? 0 : 1}:${unreadContribution(state)}` : '0:0';

/**
 * The owner's conversation groups a change of one conversation changed (SPEC §8.1 rule 17): those
 * it joined or left, and all of its groups when what it counts in them moved.
 */
export const affectedConversationGroups = (
  before: ConversationState | undefined,
  view: ConversationState,
): string[] => {
  const was = before?.conversationGroupIDs ?? [];
  const now = view.conversationGroupIDs;
  if (was.length === 0 && now.length === 0) return [];
  if (counted(before) !== counted(view)) return [...new Set([...was, ...now])];
  return [...was.filter((id) => !now.includes(id)), ...now.filter((id) => !was.includes(id))];
};

/** A conversation group's row after its event, numbered `version` in the owner's `partition`. */
export const conversationGroupRow = (
  event: ConversationGroupDefinitionEvent,
  version: number,
  partition: number,
): ConversationGroupRow => {
  const { owner, conversationGroupID } = event.data;
  if (event.type === 'ConversationGroupDeleted')
    return {
      owner,
      conversationGroupID,
      name: '',
      order: 0,
      ex: '',
      version,
      partition,
      deleted: true,
    };
  const { name, order, ex } = event.data;
  return { owner, conversationGroupID, name, order, ex, version, partition };
};
