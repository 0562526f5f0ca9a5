import { type ConversationEvent, groupConversationID, streams } from '@im/domain';
import { seededDraw, type WorkloadAppend } from './projector-workload.ts';

/** A member's own event between a burst's messages: read, hidden, deleted, pinned or a draft. */
const burstOwnerEvent = (
  at: { owner: string; conversationID: string; seq: number; time: number },
  next: () => number,
): ConversationEvent => {
  const { owner, conversationID, seq, time } = at;
  const kind = next();
  if (kind < 0.5)
    return { type: 'ConversationMarkedRead', data: { owner, conversationID, hasReadSeq: seq } };
  if (kind < 0.6) return { type: 'ConversationHidden', data: { owner, conversationID } };
  if (kind < 0.7)
    return { type: 'ConversationDeleted', data: { owner, conversationID, minSeq: seq + 1 } };
  if (kind < 0.8)
    return {
      type: 'ConversationSettingsChanged',
      data: {
        owner,
        conversationID,
        settings: { isPinned: true, recvMsgOpt: next() < 0.5 ? 0 : 2 },
      },
    };
  return {
    type: 'ConversationDraftSet',
    data: { owner, conversationID, draftText: `d${seq}`, draftTextTime: time },
  };
};

/**
 * One large group's burst: `members` users join (a thousand an event), then `messages` messages
 * from random members, some @-mentioning one of them or everyone, between which members read,
 * hide, delete, pin, draft, leave and rejoin.
 */
export const groupBurst = (options: {
  members: number;
  messages: number;
  seed?: number;
}): WorkloadAppend[] => {
  const { next, pick } = seededDraw(options.seed ?? 11);
  const groupID = 'burst';
  const conversationID = groupConversationID(groupID);
  const users = Array.from({ length: options.members }, (_, i) => `b${i}`);
  const inGroup = new Set<string>();
  const appends: WorkloadAppend[] = [];
  let groupVersion = 0;
  let seq = 0;
  let time = 1_700_000_000_000;
  const membership = (type: 'GroupMembersJoined' | 'GroupMembersLeft', userIDs: string[]) => {
    appends.push({
      streamId: streams.group(groupID),
      expectedVersion: groupVersion,
      events: [{ type, data: { groupID, userIDs, maxSeq: seq } } as ConversationEvent],
    });
    groupVersion += 1;
    for (const u of userIDs) type === 'GroupMembersJoined' ? inGroup.add(u) : inGroup.delete(u);
  };
  for (let i = 0; i < users.length; i += 1000)
    membership('GroupMembersJoined', users.slice(i, i + 1000));
  for (let m = 0; m < options.messages; m++) {
    const sendID = pick([...inGroup]);
    const roll = next();
    time += 1000;
    seq += 1;
    appends.push({
      streamId: streams.messages(conversationID),
      expectedVersion: seq - 1,
      events: [
        {
          type: 'MessageRecorded',
          data: {
            conversationID,
            conversationType: 3,
            message: {
              clientMsgID: `burst-${seq}`,
              serverMsgID: '',
              sendID,
              recvID: '',
              groupID,
              sessionType: 3,
              contentType: 101,
              content: `burst ${seq}`,
              sendTime: time,
              seq,
            },
            atUserIDList: roll < 0.2 ? [pick(users), pick(users)] : roll < 0.3 ? ['AtAllTag'] : [],
          },
        },
      ],
    });
    for (let k = 0; k < 20; k++) {
      const owner = pick(users);
      const event = burstOwnerEvent({ owner, conversationID, seq, time }, next);
      appends.push({ streamId: streams.owner(owner), expectedVersion: 'any', events: [event] });
    }
    if (next() < 0.2) membership('GroupMembersLeft', [pick([...inGroup])]);
    if (next() < 0.2) {
      const away = users.filter((u) => !inGroup.has(u));
      if (away.length > 0) membership('GroupMembersJoined', [pick(away)]);
    }
  }
  return appends;
};
