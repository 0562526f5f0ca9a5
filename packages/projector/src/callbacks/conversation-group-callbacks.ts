import type { ConversationGroupItem } from '@im/domain';
import { type Callback, changeMsgID } from './callback.ts';
import { ChangeKind, type ConversationChange, originOf } from './outbox.ts';

/** A change of an owner's conversation group (its conversationID is the group's ID). */
export const isConversationGroupChange = (change: ConversationChange): boolean =>
  change.kind === ChangeKind.conversationGroupAdded ||
  change.kind === ChangeKind.conversationGroupChanged ||
  change.kind === ChangeKind.conversationGroupDeleted;

/**
 * The callback of a conversation group's change (SPEC §8.1): the group as it is now, or its ID
 * when deleted; none for a group deleted since. Several groups change at one version (a
 * conversation in several), so the Nats-Msg-Id names the group too.
 */
export const conversationGroupCallbacks = (
  change: ConversationChange,
  groups: ReadonlyMap<string, ConversationGroupItem>,
): Callback[] => {
  const { owner: userID, version, conversationID: conversationGroupID } = change;
  const callback = (name: Callback['name'], data: unknown): Callback[] => [
    {
      userID,
      version,
      name,
      data,
      msgID: `${changeMsgID(userID, version, name)}.${conversationGroupID}`,
      ...originOf(change),
    },
  ];
  if (change.kind === ChangeKind.conversationGroupDeleted)
    return callback('OnConversationGroupDeleted', { conversationGroupID });
  const group = groups.get(`${userID}\u0000${conversationGroupID}`);
  if (!group) return [];
  return callback(
    change.kind === ChangeKind.conversationGroupAdded
      ? 'OnConversationGroupAdded'
      : 'OnConversationGroupChanged',
    group,
  );
};
