import type { ConversationItem, ConversationState } from './conversation.ts';

type Seqs = Pick<ConversationState, 'maxSeq' | 'minSeq' | 'hasReadSeq'>;

/** SPEC §1: derived from seqs, never a counter. */
export const unreadCount = ({ maxSeq, minSeq, hasReadSeq }: Seqs): number =>
  Math.max(0, maxSeq - Math.max(hasReadSeq, minSeq - 1));

/** What a conversation adds to its owner's total: hidden and muted ones add nothing. */
export const unreadContribution = (
  state: Seqs & Pick<ConversationState, 'isHidden' | 'recvMsgOpt'>,
): number => (state.isHidden || state.recvMsgOpt !== 0 ? 0 : unreadCount(state));

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
