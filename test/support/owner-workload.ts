import type { ConversationEvent } from '@im/domain';

/**
 * Owners' conversation groups (SPEC §8.1 rule 17): made, renamed, deleted, and conversations put
 * in and taken out, each event one the deciders could have made.
 */
export const conversationGroupEvents = () => {
  const owned = new Map<string, Set<string>>();
  const of = new Map<string, string[]>();
  return {
    next(owner: string, conversationID: string, roll: number): ConversationEvent[] {
      const groups = owned.get(owner) ?? new Set<string>();
      owned.set(owner, groups);
      const id = `f${Math.floor(roll * 3)}`;
      const fields = { name: `folder ${id}`, order: Math.floor(roll * 10), ex: '' };
      if (!groups.has(id)) {
        groups.add(id);
        return [
          { type: 'ConversationGroupCreated', data: { owner, conversationGroupID: id, ...fields } },
        ];
      }
      if (roll < 0.1) {
        groups.delete(id);
        const events: ConversationEvent[] = [];
        for (const [k, ids] of of)
          if (k.startsWith(`${owner} `) && ids.includes(id)) {
            const left = ids.filter((g) => g !== id);
            of.set(k, left);
            events.push({
              type: 'ConversationGroupsSet',
              data: {
                owner,
                conversationID: k.slice(owner.length + 1),
                conversationGroupIDs: left,
              },
            });
          }
        return [
          ...events,
          { type: 'ConversationGroupDeleted', data: { owner, conversationGroupID: id } },
        ];
      }
      if (roll < 0.2)
        return [
          {
            type: 'ConversationGroupUpdated',
            data: { owner, conversationGroupID: id, ...fields, ex: 'x' },
          },
        ];
      const k = `${owner} ${conversationID}`;
      const ids = of.get(k) ?? [];
      const next = ids.includes(id) ? ids.filter((g) => g !== id) : [...ids, id].sort();
      of.set(k, next);
      return [
        {
          type: 'ConversationGroupsSet',
          data: { owner, conversationID, conversationGroupIDs: next },
        },
      ];
    },
  };
};

/** Marked unread (SPEC §8.1 rule 18), or read back to `hasReadSeq` when there is one to go to. */
const markedUnread = (
  owner: string,
  conversationID: string,
  hasReadSeq: number | undefined,
): ConversationEvent => ({
  type: 'ConversationMarkedUnread',
  data:
    hasReadSeq === undefined || hasReadSeq < 0
      ? { owner, conversationID }
      : { owner, conversationID, hasReadSeq },
});

/**
 * One of an owner's own events on a conversation: read, marked unread, a setting, a draft,
 * hidden, cleared or deleted, drawn from `next` (the kind first).
 */
export const ownerEvent = (
  at: { owner: string; conversationID: string; maxSeq: number; time: number; count: number },
  next: () => number,
): ConversationEvent => {
  const { owner, conversationID, maxSeq, time, count } = at;
  const kind = next();
  if (kind < 0.45)
    return { type: 'ConversationMarkedRead', data: { owner, conversationID, hasReadSeq: maxSeq } };
  if (kind < 0.55)
    return markedUnread(owner, conversationID, next() < 0.5 ? undefined : maxSeq - 2);
  if (kind < 0.7)
    return {
      type: 'ConversationSettingsChanged',
      data: {
        owner,
        conversationID,
        settings: next() < 0.5 ? { isPinned: next() < 0.5 } : { recvMsgOpt: 2 },
      },
    };
  if (kind < 0.85)
    return {
      type: 'ConversationDraftSet',
      data: { owner, conversationID, draftText: `draft ${count}`, draftTextTime: time },
    };
  if (kind < 0.93) return { type: 'ConversationHidden', data: { owner, conversationID } };
  const minSeq = maxSeq + 1;
  return kind < 0.97
    ? { type: 'ConversationCleared', data: { owner, conversationID, minSeq } }
    : { type: 'ConversationDeleted', data: { owner, conversationID, minSeq } };
};
