import { type ConversationGroupItem, type ConversationState, toItem } from '@im/domain';
import { type Callback, type CallbackName, changeMsgID } from './callback.ts';
import {
  conversationGroupCallbacks,
  isConversationGroupChange,
} from './conversation-group-callbacks.ts';
import { ChangeKind, type ConversationChange, originOf } from './outbox.ts';

export type ViewOf = (owner: string, conversationID: string) => ConversationState | undefined;

/**
 * The callbacks of changes, in their order: each conversation as `viewOf` gives it (its latest
 * state: a burst of changes shows the last one in each callback) at its change's version, and
 * the owner's total where the change moved it. A change whose conversation is gone is passed over.
 */
export const callbacksOf = (
  changes: readonly ConversationChange[],
  viewOf: ViewOf,
  totals: ReadonlyMap<string, number>,
  conversationGroups: ReadonlyMap<string, ConversationGroupItem> = new Map(),
): Callback[] => {
  const callbacks: Callback[] = [];
  let origin: ReturnType<typeof originOf> = {};
  const push = (userID: string, version: number, name: CallbackName, data: unknown) =>
    callbacks.push({
      userID,
      version,
      name,
      data,
      msgID: changeMsgID(userID, version, name),
      ...origin,
    });
  const lastOfGroup = lastConversationGroupChanges(changes);
  for (const change of changes) {
    origin = originOf(change);
    if (isConversationGroupChange(change)) {
      if (lastOfGroup.has(change))
        callbacks.push(...conversationGroupCallbacks(change, conversationGroups));
      continue;
    }
    const view = viewOf(change.owner, change.conversationID);
    if (!view) continue;
    const name = change.kind === ChangeKind.entered ? 'OnNewConversation' : 'OnConversationChanged';
    push(change.owner, change.version, name, [toItem(view)]);
    if (change.totalChanged)
      push(
        change.owner,
        change.version,
        'OnTotalUnreadMessageCountChanged',
        totals.get(change.owner) ?? 0,
      );
  }
  return callbacks;
};

/**
 * The group changes of a batch whose callbacks go out: the last of each group's (they all show the
 * group as it is now), and every added or deleted.
 */
const lastConversationGroupChanges = (changes: readonly ConversationChange[]) => {
  const last = new Map<string, ConversationChange>();
  const kept = new Set<ConversationChange>();
  for (const change of changes) {
    if (!isConversationGroupChange(change)) continue;
    if (change.kind !== ChangeKind.conversationGroupChanged) kept.add(change);
    else last.set(`${change.owner}\u0000${change.conversationID}`, change);
  }
  for (const change of last.values()) kept.add(change);
  return kept;
};

/** The owners whose totals the changes moved. */
export const ownersWithTotals = (changes: readonly ConversationChange[]): string[] =>
  changes.filter((change) => change.totalChanged).map((change) => change.owner);

/** A conversation's key among views. */
export const viewKey = (owner: string, conversationID: string) => `${owner}\u0000${conversationID}`;
