import type { CallbackName, Cause } from '@im/domain';

/** A callback as a gateway receives it: the user, the name, the body, and its ids. */
export interface ReceivedCallback {
  userID: string;
  name: CallbackName;
  version: number;
  data: unknown;
  /** Nats-Msg-Id. */
  msgID: string;
  /** Who caused it: a gateway leaves out the echo to `cause.deviceID`, the device that acted. */
  cause?: Cause;
}

/**
 * Which versions a callback is ordered against: a conversation's callbacks together, the total
 * apart, each conversation group apart (one change may move several), sync brackets not at all.
 */
const lineOf = (callback: ReceivedCallback): string | undefined => {
  switch (callback.name) {
    case 'OnNewConversation':
    case 'OnConversationChanged':
      return 'conversations';
    case 'OnTotalUnreadMessageCountChanged':
      return 'total';
    case 'OnConversationGroupAdded':
    case 'OnConversationGroupChanged':
    case 'OnConversationGroupDeleted':
      return `group:${(callback.data as { conversationGroupID?: string }).conversationGroupID}`;
    default:
      return undefined;
  }
};

/**
 * Per user: drops a callback seen before (by Nats-Msg-Id, among the last `remember`) and one whose
 * version is not past the last applied on its line (old news, docs/gateway-guide.md); `resynced`
 * moves every line to a sync answer's version.
 */
export const createCallbackOrder = (options: { remember?: number } = {}) => {
  const remember = options.remember ?? 1000;
  const users = new Map<string, { seen: Set<string>; lines: Map<string, number>; floor: number }>();
  const userOf = (userID: string) => {
    let user = users.get(userID);
    if (!user) {
      user = { seen: new Set(), lines: new Map(), floor: 0 };
      users.set(userID, user);
    }
    return user;
  };
  return {
    /** Whether to apply the callback: new, and newer than what its line has. */
    accept(callback: ReceivedCallback): boolean {
      const user = userOf(callback.userID);
      if (user.seen.has(callback.msgID)) return false;
      user.seen.add(callback.msgID);
      // A Set keeps insertion order: the oldest id goes first.
      if (user.seen.size > remember) user.seen.delete(user.seen.values().next().value as string);
      const line = lineOf(callback);
      if (line === undefined) return true;
      const last = Math.max(user.lines.get(line) ?? 0, user.floor);
      if (callback.version <= last) return false;
      user.lines.set(line, callback.version);
      return true;
    },
    /** A sync answered at `version`: what it holds is applied, whatever line it came by. */
    resynced(userID: string, version: number) {
      const user = userOf(userID);
      user.floor = Math.max(user.floor, version);
    },
    /** The version to sync the user from: the last the gateway applied, if any. */
    versionOf(userID: string): number | undefined {
      const user = users.get(userID);
      if (!user) return undefined;
      const applied = Math.max(user.floor, ...user.lines.values());
      return applied > 0 ? applied : undefined;
    },
    forget(userID: string) {
      users.delete(userID);
    },
  };
};
