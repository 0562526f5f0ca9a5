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

const cursorValue = (cursor: string): unknown[] | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(value) ? value : undefined;
  } catch {
    // a cursor that does not decode is bad input
    return undefined;
  }
};

const positionOf = (value: readonly unknown[]): ListPosition | undefined =>
  (value[0] === 0 || value[0] === 1) &&
  Number.isSafeInteger(value[1]) &&
  typeof value[2] === 'string'
    ? { isPinned: value[0] === 1, sortTime: value[1] as number, conversationID: value[2] }
    : undefined;

/** A list cursor, or a paged sync's (whose position continues a list page as well). */
export const decodeCursor = (cursor: string): ListPosition | undefined => {
  const value = cursorValue(cursor);
  return value && (value.length === 3 || value.length === 6) ? positionOf(value) : undefined;
};

/** Where a paged full sync stands (SPEC §8.2 rule 23): its version, and how far it got. */
export interface SyncProgress {
  /** The first page's version: it holds for the whole sync. */
  version: number;
  /** Conversations answered so far, of `total` when the sync began. */
  sent: number;
  total: number;
}

export const encodeSyncCursor = (position: ListPosition, progress: SyncProgress): string =>
  Buffer.from(
    JSON.stringify([
      position.isPinned ? 1 : 0,
      position.sortTime,
      position.conversationID,
      progress.version,
      progress.sent,
      progress.total,
    ]),
  ).toString('base64url');

export const decodeSyncCursor = (
  cursor: string,
): { position: ListPosition; progress: SyncProgress } | undefined => {
  const value = cursorValue(cursor);
  if (value?.length !== 6) return undefined;
  const position = positionOf(value);
  const [version, sent, total] = value.slice(3);
  const counts = [version, sent, total].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
  return position && counts
    ? {
        position,
        progress: { version: version as number, sent: sent as number, total: total as number },
      }
    : undefined;
};
