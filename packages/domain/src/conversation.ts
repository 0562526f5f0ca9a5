export type RecvMsgOpt = 0 | 1 | 2;

/** OpenIM's default window of self-destructing messages: a week. */
export const DEFAULT_MSG_DESTRUCT_SECONDS = 604_800;
export type GroupAtType = 0 | 1 | 2 | 3 | 4;
export type ConversationType = 1 | 3 | 4;

/** The message a conversation shows as its latest; `latestMsg` is this as a JSON string. */
export interface RecordedMessage {
  clientMsgID: string;
  serverMsgID: string;
  sendID: string;
  recvID: string;
  groupID: string;
  sessionType: ConversationType;
  contentType: number;
  content: string;
  sendTime: number;
  seq: number;
}

/** One owner's view of one conversation: the item of SPEC §2, as every query and callback returns it. */
export interface ConversationItem {
  conversationID: string;
  conversationType: ConversationType;
  userID: string;
  groupID: string;
  recvMsgOpt: RecvMsgOpt;
  /** When a timed do-not-disturb ends, ms since epoch; 0: none (SPEC §8.2 rule 21). */
  recvMsgOptUntil: number;
  unreadCount: number;
  groupAtType: GroupAtType;
  latestMsg: string;
  latestMsgSendTime: number;
  draftText: string;
  draftTextTime: number;
  isPinned: boolean;
  isPrivateChat: boolean;
  burnDuration: number;
  /** Messages older than msgDestructTime seconds are cleared for this owner (SPEC §8.2 rule 22). */
  isMsgDestruct: boolean;
  msgDestructTime: number;
  /** When messages were last cleared so, ms since epoch; 0 before. */
  latestMsgDestructTime: number;
  isNotInGroup: boolean;
  isHidden: boolean;
  /** Marked unread by the owner (SPEC §8.1 rule 18): counts as at least 1 until read. */
  isMarkedUnread: boolean;
  /** The owner's conversation groups it is in, sorted (SPEC §8.1 rule 17). */
  conversationGroupIDs: string[];
  attachedInfo: string;
  ex: string;
  maxSeq: number;
  minSeq: number;
  hasReadSeq: number;
  version: number;
}

/** What the read model stores per (owner, conversation): the item less its derived unread count. */
export interface ConversationState extends Omit<ConversationItem, 'unreadCount'> {
  owner: string;
  /** seq of `latestMsg`, 0 when none: a message with a higher seq replaces it, whatever its sendTime. */
  latestMsgSeq: number;
}

export const newConversationState = (
  owner: string,
  conversationID: string,
  conversationType: ConversationType,
  peer: { userID?: string; groupID?: string },
): ConversationState => ({
  owner,
  conversationID,
  conversationType,
  userID: peer.userID ?? '',
  groupID: peer.groupID ?? '',
  recvMsgOpt: 0,
  recvMsgOptUntil: 0,
  groupAtType: 0,
  latestMsg: '',
  latestMsgSeq: 0,
  latestMsgSendTime: 0,
  draftText: '',
  draftTextTime: 0,
  isPinned: false,
  isPrivateChat: false,
  burnDuration: 0,
  isMsgDestruct: false,
  msgDestructTime: DEFAULT_MSG_DESTRUCT_SECONDS,
  latestMsgDestructTime: 0,
  isNotInGroup: false,
  isHidden: true,
  isMarkedUnread: false,
  conversationGroupIDs: [],
  attachedInfo: '',
  ex: '',
  maxSeq: 0,
  minSeq: 1,
  hasReadSeq: 0,
  version: 0,
});
