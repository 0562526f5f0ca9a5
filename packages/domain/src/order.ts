import type { ConversationItem } from './conversation.ts';

/** The position of a conversation in its owner's list (SPEC §2 "List order"). */
export interface ListPosition {
  isPinned: boolean;
  sortTime: number;
  conversationID: string;
}

export const listPosition = (
  item: Pick<
    ConversationItem,
    'isPinned' | 'latestMsgSendTime' | 'draftTextTime' | 'conversationID'
  >,
): ListPosition => ({
  isPinned: item.isPinned,
  sortTime: Math.max(item.latestMsgSendTime, item.draftTextTime),
  conversationID: item.conversationID,
});

/** Pinned first, newest first, then conversationID ascending: a total order, so pages never overlap. */
export const compareListPositions = (a: ListPosition, b: ListPosition): number => {
  if (a.isPinned !== b.isPinned) return a.isPinned ? -1 : 1;
  if (a.sortTime !== b.sortTime) return b.sortTime - a.sortTime;
  if (a.conversationID === b.conversationID) return 0;
  return a.conversationID < b.conversationID ? -1 : 1;
};

/** An opaque keyset cursor: the position of the last item of a page. */
export const encodeCursor = (position: ListPosition): string =>
  Buffer.from(
    JSON.stringify([position.isPinned ? 1 : 0, position.sortTime, position.conversationID]),
  ).toString('base64url');

export const decodeCursor = (cursor: string): ListPosition | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 3 &&
      (value[0] === 0 || value[0] === 1) &&
      Number.isSafeInteger(value[1]) &&
      typeof value[2] === 'string'
    ) {
      return { isPinned: value[0] === 1, sortTime: value[1], conversationID: value[2] };
    }
  } catch {
    // falls through: a cursor that does not decode is bad input
  }
  return undefined;
};
