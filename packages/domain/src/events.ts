import type { ConversationType, GroupAtType, RecordedMessage, RecvMsgOpt } from './conversation.ts';

/** Settings an owner sets directly (SPEC §3 rule 11, and pin / do-not-disturb). */
export interface ConversationSettings {
  isPinned: boolean;
  recvMsgOpt: RecvMsgOpt;
  /** The end of a timed do-not-disturb (0: none); set with recvMsgOpt, which resets it. */
  recvMsgOptUntil: number;
  groupAtType: GroupAtType;
  isPrivateChat: boolean;
  burnDuration: number;
  isMsgDestruct: boolean;
  msgDestructTime: number;
  attachedInfo: string;
  ex: string;
}

type Event<Type extends string, Data> = { type: Type; data: Data };

/** Appended to the conversation's message stream; its seq is the stream position. */
export type MessageRecorded = Event<
  'MessageRecorded',
  {
    conversationID: string;
    conversationType: ConversationType;
    message: RecordedMessage;
    atUserIDList: string[];
  }
>;

/** maxSeq is the group's maxSeq when they joined: they see only what comes after it. */
export type GroupMembersJoined = Event<
  'GroupMembersJoined',
  { groupID: string; userIDs: string[]; maxSeq: number }
>;

/** maxSeq is where each leaving member's view freezes. */
export type GroupMembersLeft = Event<
  'GroupMembersLeft',
  { groupID: string; userIDs: string[]; maxSeq: number }
>;

type OwnerEvent<Type extends string, Data = object> = Event<
  Type,
  { owner: string; conversationID: string } & Data
>;

export type ConversationMarkedRead = OwnerEvent<'ConversationMarkedRead', { hasReadSeq: number }>;
/**
 * Marked unread (SPEC §8.1 rule 18): with `hasReadSeq`, read back to just before a message (the
 * one way hasReadSeq moves back); without, flagged unread with the seqs as they are.
 */
export type ConversationMarkedUnread = OwnerEvent<
  'ConversationMarkedUnread',
  { hasReadSeq?: number }
>;
export type ConversationDeleted = OwnerEvent<'ConversationDeleted', { minSeq: number }>;
export type ConversationHidden = OwnerEvent<'ConversationHidden'>;
export type ConversationCleared = OwnerEvent<'ConversationCleared', { minSeq: number }>;
export type ConversationDraftSet = OwnerEvent<
  'ConversationDraftSet',
  { draftText: string; draftTextTime: number }
>;
export type ConversationSettingsChanged = OwnerEvent<
  'ConversationSettingsChanged',
  { settings: Partial<ConversationSettings> }
>;

/**
 * Messages below `minSeq` destroyed themselves for the owner (SPEC §8.2 rule 22): sent longer ago
 * than the conversation's msgDestructTime, as the engine found at `at`.
 */
export type ConversationMessagesDestructed = OwnerEvent<
  'ConversationMessagesDestructed',
  { minSeq: number; at: number }
>;

/** The conversation's groups, all of them, after one was added or taken out (rule 17). */
export type ConversationGroupsSet = OwnerEvent<
  'ConversationGroupsSet',
  { conversationGroupIDs: string[] }
>;

type ConversationGroupEvent<Type extends string, Data = object> = Event<
  Type,
  { owner: string; conversationGroupID: string } & Data
>;

/** Created and updated carry every field as it is afterwards. */
export type ConversationGroupCreated = ConversationGroupEvent<
  'ConversationGroupCreated',
  { name: string; order: number; ex: string }
>;
export type ConversationGroupUpdated = ConversationGroupEvent<
  'ConversationGroupUpdated',
  { name: string; order: number; ex: string }
>;
export type ConversationGroupDeleted = ConversationGroupEvent<'ConversationGroupDeleted'>;

/** An owner's conversation group made, changed or removed: no conversation of its own. */
export type ConversationGroupDefinitionEvent =
  | ConversationGroupCreated
  | ConversationGroupUpdated
  | ConversationGroupDeleted;

export const isConversationGroupDefinition = (event: {
  type: string;
}): event is ConversationGroupDefinitionEvent =>
  event.type === 'ConversationGroupCreated' ||
  event.type === 'ConversationGroupUpdated' ||
  event.type === 'ConversationGroupDeleted';

export type OwnerConversationEvent =
  | ConversationMarkedRead
  | ConversationGroupsSet
  | ConversationMarkedUnread
  | ConversationMessagesDestructed
  | ConversationDeleted
  | ConversationHidden
  | ConversationCleared
  | ConversationDraftSet
  | ConversationSettingsChanged;

export type ConversationEvent =
  | MessageRecorded
  | GroupMembersJoined
  | GroupMembersLeft
  | OwnerConversationEvent
  | ConversationGroupDefinitionEvent;

export type ConversationEventType = ConversationEvent['type'];

/** Stream names: one per conversation's messages, per group's members, per owner's settings. */
export const streams = {
  messages: (conversationID: string) => `messages:${conversationID}`,
  group: (groupID: string) => `group:${groupID}`,
  owner: (owner: string) => `owner:${owner}`,
};
