import {
  type ConversationState,
  type GroupAtType,
  newConversationState,
  type RecordedMessage,
} from './conversation.ts';
import type { ConversationEvent, GroupMembersJoined, MessageRecorded } from './events.ts';

export const AT_ALL_TAG = 'AtAllTag';

/**
 * The owners whose rows an event changes by name. A group message names its sender and the
 * members it @-mentions (their rows are brought up to date); every other member's view of it
 * follows from the group's row (see deriveMember).
 */
export const namedOwners = (event: ConversationEvent): string[] => {
  switch (event.type) {
    case 'MessageRecorded': {
      const { message, atUserIDList } = event.data;
      if (event.data.conversationType === 3)
        return [...new Set([message.sendID, ...atUserIDList.filter((id) => id !== AT_ALL_TAG)])];
      return message.sendID === message.recvID
        ? [message.sendID]
        : [message.sendID, message.recvID];
    }
    case 'GroupMembersJoined':
    case 'GroupMembersLeft':
      return event.data.userIDs;
    default:
      return [event.data.owner];
  }
};

const mentionFlag = (owner: string, event: MessageRecorded): GroupAtType => {
  const { atUserIDList, message } = event.data;
  if (event.data.conversationType !== 3 || message.sendID === owner) return 0;
  const me = atUserIDList.includes(owner) ? 1 : 0;
  const all = atUserIDList.includes(AT_ALL_TAG) ? 2 : 0;
  return (me | all) as GroupAtType;
};

const accumulateMention = (current: GroupAtType, flag: GroupAtType): GroupAtType => {
  if (flag === 0) return current;
  if (current === 4) return flag;
  return (current | flag) as GroupAtType;
};

/**
 * The message serialised last: the owners an event reaches (both sides of a chat, the members a
 * group message names) are evolved one after another, so one serialisation serves them all. A
 * WeakMap of every message did the same for more, and kept a replay's garbage collector busy with
 * its entries (README, Performance). A memo of a pure function: its answers are the same without it.
 */
let lastMessage: RecordedMessage | undefined;
let lastJSON = '';

/** The recorded message as `latestMsg`, its fields in SPEC §2's order whatever order storage kept. */
export const latestMsgJSON = (m: RecordedMessage): string => {
  if (m === lastMessage) return lastJSON;
  lastJSON = JSON.stringify({
    clientMsgID: m.clientMsgID,
    serverMsgID: m.serverMsgID,
    sendID: m.sendID,
    recvID: m.recvID,
    groupID: m.groupID,
    sessionType: m.sessionType,
    contentType: m.contentType,
    content: m.content,
    sendTime: m.sendTime,
    seq: m.seq,
  });
  lastMessage = m;
  return lastJSON;
};

const evolveMessage = (
  state: ConversationState | undefined,
  event: MessageRecorded,
  owner: string,
): ConversationState | undefined => {
  const { message, conversationID, conversationType } = event.data;
  let current = state;
  if (!current) {
    // A group conversation exists only for members; single and notification chats start here.
    if (conversationType === 3) return undefined;
    const peer = message.sendID === owner ? message.recvID : message.sendID;
    current = newConversationState(owner, conversationID, conversationType, { userID: peer });
  }
  if (current.isNotInGroup) return current;
  const next: ConversationState = { ...current, maxSeq: Math.max(current.maxSeq, message.seq) };
  if (message.seq < next.minSeq) return next;
  if (message.seq > next.latestMsgSeq) {
    next.latestMsg = latestMsgJSON(message);
    next.latestMsgSeq = message.seq;
    next.latestMsgSendTime = message.sendTime;
  }
  if (message.sendID === owner) {
    next.hasReadSeq = Math.max(next.hasReadSeq, message.seq);
    // The owner's own message reads the conversation, and so clears a mark (rule 18).
    next.isMarkedUnread = false;
  }
  // Writing reads the conversation (rule 1), so it clears the @ flags as a read does (rule 3).
  next.groupAtType =
    message.sendID === owner && next.hasReadSeq >= next.maxSeq
      ? 0
      : accumulateMention(next.groupAtType, mentionFlag(owner, event));
  next.isHidden = false;
  return next;
};

/** A member's group conversation after a join: made, or unfrozen on a rejoin. */
const evolveJoin = (
  state: ConversationState | undefined,
  event: GroupMembersJoined,
  owner: string,
): ConversationState => {
  const { groupID, maxSeq } = event.data;
  if (!state) {
    return {
      ...newConversationState(owner, `sg_${groupID}`, 3, { groupID }),
      maxSeq,
      minSeq: maxSeq + 1,
    };
  }
  if (!state.isNotInGroup) return state;
  // Rejoining lifts the freeze; what was sent while away stays below minSeq. Nothing is unread
  // then, so no @ flag is left pointing at it.
  return {
    ...state,
    isNotInGroup: false,
    maxSeq: Math.max(state.maxSeq, maxSeq),
    minSeq: Math.max(state.minSeq, maxSeq + 1),
    groupAtType: 0,
  };
};

/** The events that only change a conversation the owner has: reads, marks, settings, clears. */
type OwnConversationEvent = Exclude<
  ConversationEvent,
  { type: 'MessageRecorded' | 'GroupMembersJoined' | 'GroupMembersLeft' }
>;

/** An existing conversation after one of the owner's own events (or a sweep on the owner's behalf). */
const evolveExisting = (
  state: ConversationState,
  event: OwnConversationEvent,
): ConversationState => {
  switch (event.type) {
    case 'ConversationMarkedRead': {
      const hasReadSeq = Math.max(state.hasReadSeq, event.data.hasReadSeq);
      const groupAtType = hasReadSeq >= state.maxSeq ? 0 : state.groupAtType;
      // Any read clears a mark (rule 18), a read up to a position too (rule 19).
      return { ...state, hasReadSeq, groupAtType, isMarkedUnread: false };
    }
    case 'ConversationMarkedUnread': {
      const { hasReadSeq } = event.data;
      // Read back from a message: real unread, no mark needed; @ flags do not come back.
      if (hasReadSeq !== undefined) return { ...state, hasReadSeq, isMarkedUnread: false };
      return { ...state, isMarkedUnread: true };
    }
    case 'ConversationDeleted':
      return {
        ...state,
        minSeq: Math.max(state.minSeq, event.data.minSeq),
        latestMsg: '',
        latestMsgSendTime: 0,
        draftText: '',
        draftTextTime: 0,
        isPinned: false,
        isHidden: true,
        isMarkedUnread: false,
        groupAtType: 0,
      };
    case 'ConversationHidden':
      return { ...state, isHidden: true };
    case 'ConversationCleared':
      // Stays at its place in the list: latestMsgSendTime is kept.
      return {
        ...state,
        minSeq: Math.max(state.minSeq, event.data.minSeq),
        latestMsg: '',
        groupAtType: 0,
        isMarkedUnread: false,
      };
    case 'ConversationDraftSet': {
      const { draftText, draftTextTime } = event.data;
      return {
        ...state,
        draftText,
        draftTextTime,
        isHidden: draftText === '' ? state.isHidden : false,
      };
    }
    case 'ConversationSettingsChanged':
      return { ...state, ...event.data.settings };
    case 'ConversationMessagesDestructed': {
      const minSeq = Math.max(state.minSeq, event.data.minSeq);
      if (minSeq === state.minSeq) return state;
      // The latest message is the newest: gone only when all of them are.
      const allGone = state.latestMsgSeq < minSeq;
      return {
        ...state,
        minSeq,
        latestMsgDestructTime: event.data.at,
        ...(allGone ? { latestMsg: '' } : {}),
        ...(minSeq > state.maxSeq ? { groupAtType: 0 as const } : {}),
      };
    }
    case 'ConversationGroupsSet':
      return { ...state, conversationGroupIDs: event.data.conversationGroupIDs };
    case 'ConversationGroupCreated':
    case 'ConversationGroupUpdated':
    case 'ConversationGroupDeleted':
      return state;
  }
};

/**
 * One owner's conversation after an event: the single definition of every rule of SPEC §3 that
 * the read model follows. Returns the state unchanged (same reference) when the event does not
 * touch it, and undefined when the owner has no such conversation.
 */
export const evolve = (
  state: ConversationState | undefined,
  event: ConversationEvent,
  owner: string,
): ConversationState | undefined => {
  switch (event.type) {
    case 'MessageRecorded':
      return evolveMessage(state, event, owner);
    case 'GroupMembersJoined':
      return evolveJoin(state, event, owner);
    case 'GroupMembersLeft':
      if (!state || state.isNotInGroup) return state;
      return { ...state, isNotInGroup: true, maxSeq: Math.max(state.maxSeq, event.data.maxSeq) };
    default:
      return state && evolveExisting(state, event);
  }
};

const FIELDS_COMPARED = [
  'recvMsgOpt',
  'recvMsgOptUntil',
  'groupAtType',
  'latestMsg',
  'latestMsgSeq',
  'latestMsgSendTime',
  'draftText',
  'draftTextTime',
  'isPinned',
  'isPrivateChat',
  'burnDuration',
  'isMsgDestruct',
  'msgDestructTime',
  'latestMsgDestructTime',
  'isNotInGroup',
  'isHidden',
  'isMarkedUnread',
  'attachedInfo',
  'ex',
  'maxSeq',
  'minSeq',
  'hasReadSeq',
  'userID',
  'groupID',
  'conversationType',
] as const satisfies ReadonlyArray<keyof ConversationState>;

/** Whether two states differ in anything an owner can see (the version aside). */
export const differs = (
  a: ConversationState | undefined,
  b: ConversationState | undefined,
): boolean => {
  if (a === b) return false;
  if (!a || !b) return true;
  return (
    FIELDS_COMPARED.some((field) => a[field] !== b[field]) ||
    a.conversationGroupIDs.join() !== b.conversationGroupIDs.join()
  );
};
