import type { ConversationItem, ConversationState } from './conversation.ts';

type Seqs = Pick<ConversationState, 'maxSeq' | 'minSeq' | 'hasReadSeq'>;

/** SPEC §1: derived from seqs, never a counter. */
export const unreadCount = ({ maxSeq, minSeq, hasReadSeq }: Seqs): number =>
  Math.max(0, maxSeq - Math.max(hasReadSeq, minSeq - 1));

/**
 * What a conversation adds to its owner's total: hidden and muted ones add nothing, one marked
 * unread at least 1 (SPEC §8.1 rule 18).
 */
export const unreadContribution = (
  state: Seqs & Pick<ConversationState, 'isHidden' | 'recvMsgOpt' | 'isMarkedUnread'>,
): number => {
  if (state.isHidden || state.recvMsgOpt !== 0) return 0;
  const unread = unreadCount(state);
  return state.isMarkedUnread ? Math.max(unread, 1) : unread;
};

export const totalUnread = (states: Iterable<Parameters<typeof unreadContribution>[0]>): number => {
  let total = 0;
  for (const state of states) total += unreadContribution(state);
  return total;
};

export const toItem = ({
  owner: _owner,
  latestMsgSeq: _seq,
  ...state
}: ConversationState): ConversationItem => ({
  ...state,
  unreadCount: unreadCount(state),
});
