import type { ConversationState, GroupAtType } from './conversation.ts';
import type { MessageRecorded } from './events.ts';
import { AT_ALL_TAG, latestMsgJSON } from './evolve.ts';
import { unreadContribution } from './unread.ts';

/**
 * What a group's members share, one row a group: its messages' maxSeq, the latest message, and
 * the seq of the latest @all. A group message changes this row, and the rows of only the members
 * it names (its sender and those it @-mentions); every other member's view of it is derived.
 */
export interface GroupState {
  conversationID: string;
  groupID: string;
  maxSeq: number;
  /** The message with seq maxSeq, as `latestMsg`, and its sendTime. */
  latestMsg: string;
  latestMsgSendTime: number;
  /** The seq of the latest message that @-mentioned everyone; 0 before any. */
  atAllSeq: number;
  /** The version of the last message. */
  version: number;
}

export const newGroupState = (conversationID: string, groupID: string): GroupState => ({
  conversationID,
  groupID,
  maxSeq: 0,
  latestMsg: '',
  latestMsgSendTime: 0,
  atAllSeq: 0,
  version: 0,
});

/** The group's row after a message of the group, which was projected at `version`. */
export const evolveGroup = (
  group: GroupState | undefined,
  event: MessageRecorded,
  version: number,
): GroupState => {
  const { message, conversationID, atUserIDList } = event.data;
  const current = group ?? newGroupState(conversationID, message.groupID);
  // A group's messages are projected in seq order (each appends behind the one before).
  if (message.seq <= current.maxSeq) return current;
  return {
    ...current,
    maxSeq: message.seq,
    latestMsg: latestMsgJSON(message),
    latestMsgSendTime: message.sendTime,
    atAllSeq: atUserIDList.includes(AT_ALL_TAG) ? message.seq : current.atAllSeq,
    version,
  };
};

/**
 * Whether a member's row is live: a group conversation whose owner is in the group. Its view
 * follows the group's row; every other row (single chats, members who left) is all its own.
 */
export const isLiveMember = (state: Pick<ConversationState, 'conversationType' | 'isNotInGroup'>) =>
  state.conversationType === 3 && !state.isNotInGroup;

/**
 * A member's view of the group conversation, as SPEC §3 defines it message by message. The
 * member's row holds it as of its own maxSeq: every event that names the member (a message it
 * sends or that @-mentions it, a join, a leave, any command of its own) brings the row up to date.
 * So the group's messages after that are plain ones, none of them the member's own, and their
 * effect follows from the group's row alone: maxSeq and the latest message are the group's, the
 * conversation is listed again (every one of them is visible: minSeq ≤ the row's maxSeq + 1), and
 * an @all among them adds the @all flag.
 */
export const deriveMember = (
  member: ConversationState,
  group: GroupState | undefined,
): ConversationState => {
  if (!group || !isLiveMember(member) || group.maxSeq <= member.maxSeq) return member;
  const atAll = group.atAllSeq > member.maxSeq;
  return {
    ...member,
    maxSeq: group.maxSeq,
    latestMsg: group.latestMsg,
    latestMsgSeq: group.maxSeq,
    latestMsgSendTime: group.latestMsgSendTime,
    isHidden: false,
    groupAtType: atAll ? withAtAll(member.groupAtType) : member.groupAtType,
    // The later of the two: a member who joined behind the group's row changed at the join.
    version: Math.max(member.version, group.version),
  };
};

/** SPEC §3 rule 3's accumulation of an @all flag onto what the member had. */
const withAtAll = (current: GroupAtType): GroupAtType =>
  current === 4 ? 2 : ((current | 2) as GroupAtType);

/**
 * What a conversation adds to the owner's stored total: live members' rows add nothing there, as
 * their unread is derived from the group's row when a total is read.
 */
export const storedContribution = (state: ConversationState): number =>
  isLiveMember(state) ? 0 : unreadContribution(state);
