import type { ConversationState, RecordedMessage } from './conversation.ts';
import { fail, ok, type Result, unknownConversation } from './errors.ts';
import type {
  ConversationSettings,
  GroupMembersJoined,
  GroupMembersLeft,
  MessageRecorded,
  OwnerConversationEvent,
} from './events.ts';
import { differs, evolve } from './evolve.ts';
import { conversationIDFor } from './ids.ts';

/** Commands an owner gives about one of their conversations. */
export type OwnerCommand =
  | {
      type: 'MarkConversationRead';
      owner: string;
      conversationID: string;
      /** Read up to this seq only (SPEC §8.1 rule 19); to the end without it. */
      upToSeq?: number;
    }
  | { type: 'MarkConversationUnread'; owner: string; conversationID: string; fromSeq?: number }
  | {
      /** The engine's own: messages below `minSeq` are past the window (rule 22). */
      type: 'DestructMessages';
      owner: string;
      conversationID: string;
      minSeq: number;
      at: number;
    }
  | {
      /** The engine's own: a timed do-not-disturb that ends at `until` ends (rule 21). */
      type: 'EndTimedRecvMsgOpt';
      owner: string;
      conversationID: string;
      until: number;
    }
  | { type: 'DeleteConversation'; owner: string; conversationID: string }
  | { type: 'HideConversation'; owner: string; conversationID: string }
  | { type: 'ClearConversation'; owner: string; conversationID: string }
  | { type: 'SetDraft'; owner: string; conversationID: string; draftText: string }
  | {
      type: 'ChangeSettings';
      owner: string;
      conversationID: string;
      settings: Partial<ConversationSettings>;
    };

/** The settings asked for that differ from the conversation's. */
const changedSettings = (
  asked: Partial<ConversationSettings>,
  state: ConversationState,
): Partial<ConversationSettings> => {
  const settings: Partial<ConversationSettings> = {};
  // A new opt replaces a timer: without an end of its own, it has none.
  const wanted =
    asked.recvMsgOpt !== undefined && asked.recvMsgOptUntil === undefined
      ? { ...asked, recvMsgOptUntil: 0 }
      : asked;
  for (const [key, value] of Object.entries(wanted) as Array<[keyof ConversationSettings, never]>) {
    if (state[key] !== value) settings[key] = value;
  }
  return settings;
};

const candidate = (
  command: OwnerCommand,
  state: ConversationState,
  now: number,
): OwnerConversationEvent => {
  const { owner, conversationID } = command;
  switch (command.type) {
    case 'MarkConversationRead': {
      const upTo = command.upToSeq === undefined ? state.maxSeq : command.upToSeq;
      return {
        type: 'ConversationMarkedRead',
        data: { owner, conversationID, hasReadSeq: Math.min(upTo, state.maxSeq) },
      };
    }
    case 'DestructMessages':
      return {
        type: 'ConversationMessagesDestructed',
        data: {
          owner,
          conversationID,
          // Only while self-destruct is on, and only forward.
          minSeq: state.isMsgDestruct ? command.minSeq : state.minSeq,
          at: command.at,
        },
      };
    case 'EndTimedRecvMsgOpt':
      // Only the timer that is due and still set: a new opt replaced any other.
      return {
        type: 'ConversationSettingsChanged',
        data: {
          owner,
          conversationID,
          settings:
            state.recvMsgOptUntil === command.until && command.until <= now
              ? { recvMsgOpt: 0, recvMsgOptUntil: 0 }
              : {},
        },
      };
    case 'MarkConversationUnread':
      return {
        type: 'ConversationMarkedUnread',
        data:
          command.fromSeq === undefined
            ? { owner, conversationID }
            : { owner, conversationID, hasReadSeq: command.fromSeq - 1 },
      };
    case 'DeleteConversation':
      return {
        type: 'ConversationDeleted',
        data: { owner, conversationID, minSeq: state.maxSeq + 1 },
      };
    case 'HideConversation':
      return { type: 'ConversationHidden', data: { owner, conversationID } };
    case 'ClearConversation':
      return {
        type: 'ConversationCleared',
        data: { owner, conversationID, minSeq: state.maxSeq + 1 },
      };
    case 'SetDraft': {
      const { draftText } = command;
      const draftTextTime =
        draftText === '' ? 0 : draftText === state.draftText ? state.draftTextTime : now;
      return {
        type: 'ConversationDraftSet',
        data: { owner, conversationID, draftText, draftTextTime },
      };
    }
    case 'ChangeSettings':
      return {
        type: 'ConversationSettingsChanged',
        data: { owner, conversationID, settings: changedSettings(command.settings, state) },
      };
  }
};

/**
 * decide(command, state) → events. A command that would change nothing decides no event
 * (SPEC §3 rule 13); a conversation the owner does not have is a 404 (rule 15).
 */
export const decideOwnerCommand = (
  command: OwnerCommand,
  state: ConversationState | undefined,
  now: number,
): Result<OwnerConversationEvent[]> => {
  if (!state) return unknownConversation(command.owner, command.conversationID);
  if (command.type === 'MarkConversationUnread' && command.fromSeq !== undefined) {
    const { fromSeq } = command;
    if (fromSeq < state.minSeq || fromSeq > state.maxSeq)
      return fail(
        400,
        state.minSeq > state.maxSeq
          ? `fromSeq: ${command.conversationID} has no message ${command.owner} can see to mark unread from`
          : `fromSeq: must be between the conversation's minSeq ${state.minSeq} and maxSeq ${state.maxSeq}, not ${fromSeq}`,
      );
  }
  const event = candidate(command, state, now);
  return ok(differs(state, evolve(state, event, command.owner)) ? [event] : []);
};

export interface RecordMessageCommand {
  clientMsgID: string;
  serverMsgID: string;
  sendID: string;
  recvID: string;
  groupID: string;
  sessionType: 1 | 3 | 4;
  contentType: number;
  content: string;
  sendTime: number;
  atUserIDList: string[];
}

export const messageConversationID = (command: RecordMessageCommand): string =>
  command.sessionType === 3
    ? conversationIDFor(command.sendID, 3, command.groupID)
    : conversationIDFor(command.sendID, command.sessionType, command.recvID);

/** The message stream's state: its version is its maxSeq; `duplicateSeq` is set when clientMsgID is known. */
export interface MessageStreamState {
  maxSeq: number;
  duplicateSeq: number | undefined;
}

export type RecordMessageDecision =
  | { duplicate: true; seq: number; events: [] }
  | { duplicate: false; seq: number; events: [MessageRecorded] };

export const decideRecordMessage = (
  command: RecordMessageCommand,
  state: MessageStreamState,
): Result<RecordMessageDecision> => {
  if (command.sessionType === 3 ? command.groupID === '' : command.recvID === '') {
    return fail(
      400,
      command.sessionType === 3
        ? 'groupID: required for a group message (sessionType 3)'
        : 'recvID: required for a single or notification message (sessionType 1 or 4)',
    );
  }
  if (state.duplicateSeq !== undefined)
    return ok({ duplicate: true, seq: state.duplicateSeq, events: [] });
  const seq = state.maxSeq + 1;
  const { atUserIDList, ...fields } = command;
  const message: RecordedMessage = { ...fields, seq };
  return ok({
    duplicate: false,
    seq,
    events: [
      {
        type: 'MessageRecorded',
        data: {
          conversationID: messageConversationID(command),
          conversationType: command.sessionType,
          message,
          atUserIDList,
        },
      },
    ],
  });
};

export interface MembershipState {
  /** userIDs currently in the group. */
  members: ReadonlySet<string>;
  maxSeq: number;
}

export const decideJoinGroup = (
  command: { groupID: string; userIDs: string[] },
  state: MembershipState,
): GroupMembersJoined[] => {
  const userIDs = [...new Set(command.userIDs)].filter((id) => !state.members.has(id));
  return userIDs.length === 0
    ? []
    : [
        {
          type: 'GroupMembersJoined',
          data: { groupID: command.groupID, userIDs, maxSeq: state.maxSeq },
        },
      ];
};

export const decideLeaveGroup = (
  command: { groupID: string; userIDs: string[] },
  state: MembershipState,
): GroupMembersLeft[] => {
  const userIDs = [...new Set(command.userIDs)].filter((id) => state.members.has(id));
  return userIDs.length === 0
    ? []
    : [
        {
          type: 'GroupMembersLeft',
          data: { groupID: command.groupID, userIDs, maxSeq: state.maxSeq },
        },
      ];
};
