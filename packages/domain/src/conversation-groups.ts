import type { ConversationState } from './conversation.ts';
import { fail, ok, type Result, unknownConversation } from './errors.ts';
import type { ConversationEvent, ConversationGroupsSet } from './events.ts';
import { unreadContribution } from './unread.ts';

/** SPEC §8.1 rule 17: an owner has at most this many conversation groups. */
export const CONVERSATION_GROUPS_MAX = 100;

/** What the owner sets on a conversation group. */
export interface ConversationGroupFields {
  name: string;
  order: number;
  ex: string;
}

/** An owner's conversation group as the read model keeps it. */
export interface ConversationGroupState extends ConversationGroupFields {
  owner: string;
  conversationGroupID: string;
  /** The owner version of the last change to its fields or its membership. */
  version: number;
}

/** SPEC §8.1's group as queries and callbacks give it: its fields and its counts. */
export interface ConversationGroupItem extends ConversationGroupFields {
  conversationGroupID: string;
  conversationCount: number;
  unreadCount: number;
  version: number;
}

/**
 * A group's counts over the owner's conversations: the listed members, and what the members add
 * to the total (hidden and muted nothing, one marked unread at least 1).
 */
export const conversationGroupCounts = (
  states: Iterable<ConversationState>,
  conversationGroupID: string,
): { conversationCount: number; unreadCount: number } => {
  let conversationCount = 0;
  let unreadCount = 0;
  for (const state of states) {
    if (!state.conversationGroupIDs.includes(conversationGroupID)) continue;
    if (!state.isHidden) conversationCount += 1;
    unreadCount += unreadContribution(state);
  }
  return { conversationCount, unreadCount };
};

export type ConversationGroupCommand =
  | ({
      type: 'CreateConversationGroup';
      owner: string;
      conversationGroupID: string;
      conversationIDs: string[];
    } & ConversationGroupFields)
  | ({
      type: 'UpdateConversationGroup';
      owner: string;
      conversationGroupID: string;
    } & Partial<ConversationGroupFields>)
  | { type: 'DeleteConversationGroup'; owner: string; conversationGroupID: string }
  | {
      type: 'AddConversationsToGroup' | 'RemoveConversationsFromGroup';
      owner: string;
      conversationGroupID: string;
      conversationIDs: string[];
    };

/**
 * What a conversation-group command decides on: every group of the owner, and the owner's
 * conversations it names (for a delete: those in the group), each with its groups.
 */
export interface ConversationGroupsDecisionState {
  groups: ReadonlyMap<string, ConversationGroupFields>;
  conversations: ReadonlyMap<string, readonly string[]>;
}

export const unknownConversationGroup = (owner: string, conversationGroupID: string) =>
  fail(404, `conversationGroupID: ${owner} has no conversation group ${conversationGroupID}`);

const sameFields = (a: ConversationGroupFields, b: ConversationGroupFields) =>
  a.name === b.name && a.order === b.order && a.ex === b.ex;

/** Each named conversation's groups with `id` added (or taken out): one event per one changed. */
const membershipEvents = (
  owner: string,
  conversationGroupID: string,
  conversationIDs: readonly string[],
  state: ConversationGroupsDecisionState,
  change: 'add' | 'remove',
): Result<ConversationGroupsSet[]> => {
  const events: ConversationGroupsSet[] = [];
  for (const conversationID of new Set(conversationIDs)) {
    const current = state.conversations.get(conversationID);
    if (!current) return unknownConversation(owner, conversationID);
    const has = current.includes(conversationGroupID);
    if (has === (change === 'add')) continue;
    const conversationGroupIDs =
      change === 'add'
        ? [...current, conversationGroupID].sort()
        : current.filter((id) => id !== conversationGroupID);
    events.push({
      type: 'ConversationGroupsSet',
      data: { owner, conversationID, conversationGroupIDs },
    });
  }
  return ok(events);
};

const decideCreate = (
  command: Extract<ConversationGroupCommand, { type: 'CreateConversationGroup' }>,
  state: ConversationGroupsDecisionState,
): Result<ConversationEvent[]> => {
  const { owner, conversationGroupID, name, order, ex } = command;
  const fields = { name, order, ex };
  const existing = state.groups.get(conversationGroupID);
  const members = membershipEvents(
    owner,
    conversationGroupID,
    command.conversationIDs,
    state,
    'add',
  );
  if (!members.ok) return members;
  if (existing) {
    // A retried create changes nothing; a create of another group under a taken ID is refused.
    if (sameFields(existing, fields) && members.value.length === 0) return ok([]);
    return fail(
      409,
      `conversationGroupID: ${owner} has a conversation group ${conversationGroupID} with other fields or conversations; update it or choose another ID`,
    );
  }
  if (state.groups.size >= CONVERSATION_GROUPS_MAX)
    return fail(
      400,
      `conversationGroupID: ${owner} has ${state.groups.size} conversation groups, the most an owner may have`,
    );
  return ok([
    { type: 'ConversationGroupCreated', data: { owner, conversationGroupID, ...fields } },
    ...members.value,
  ]);
};

/**
 * decide for the commands on an owner's conversation groups (SPEC §8.1 rule 17). A command that
 * changes nothing decides no event; a group or conversation the owner does not have is a 404.
 */
export const decideConversationGroupCommand = (
  command: ConversationGroupCommand,
  state: ConversationGroupsDecisionState,
): Result<ConversationEvent[]> => {
  const { owner, conversationGroupID } = command;
  if (command.type === 'CreateConversationGroup') return decideCreate(command, state);
  const existing = state.groups.get(conversationGroupID);
  // Deleting what is gone is done already: a retried delete answers as the first did.
  if (command.type === 'DeleteConversationGroup') {
    if (!existing) return ok([]);
    const members = membershipEvents(
      owner,
      conversationGroupID,
      [...state.conversations.keys()],
      state,
      'remove',
    );
    if (!members.ok) return members;
    return ok([
      ...members.value,
      { type: 'ConversationGroupDeleted', data: { owner, conversationGroupID } },
    ]);
  }
  if (!existing) return unknownConversationGroup(owner, conversationGroupID);
  if (command.type === 'UpdateConversationGroup') {
    const fields = {
      name: command.name ?? existing.name,
      order: command.order ?? existing.order,
      ex: command.ex ?? existing.ex,
    };
    return ok(
      sameFields(existing, fields)
        ? []
        : [{ type: 'ConversationGroupUpdated', data: { owner, conversationGroupID, ...fields } }],
    );
  }
  return membershipEvents(
    owner,
    conversationGroupID,
    command.conversationIDs,
    state,
    command.type === 'AddConversationsToGroup' ? 'add' : 'remove',
  );
};
