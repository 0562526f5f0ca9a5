import {
  type ConversationEvent,
  groupConversationID,
  type MessageRecorded,
  singleConversationID,
  streams,
} from '@im/domain';
import type { Queryable } from '@im/eventstore';
import { appendToStream } from '@im/eventstore';

/** One append: events for one stream at the version the workload expects it to have. */
export interface WorkloadAppend {
  streamId: string;
  expectedVersion: number | 'any';
  events: ConversationEvent[];
}

/** A small deterministic PRNG (mulberry32): the same seed makes the same log. */
const random = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/**
 * Owners' conversation groups (SPEC §8.1 rule 17): made, renamed, deleted, and conversations put
 * in and taken out, each event one the deciders could have made.
 */
const conversationGroupEvents = () => {
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
 * A realistic mix of the log's events, appended in bursts: single-chat messages, groups that
 * people join and leave with their messages and @mentions, and owners reading, pinning, drafting,
 * hiding, deleting and marking unread. Every event is one the deciders could have made.
 */
export const workload = (options: {
  events: number;
  users?: number;
  groups?: number;
  seed?: number;
}): WorkloadAppend[] => {
  const next = random(options.seed ?? 1);
  const users = Array.from({ length: options.users ?? 500 }, (_, i) => `u${i}`);
  const groupIDs = Array.from({ length: options.groups ?? 20 }, (_, i) => `g${i}`);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const seqs = new Map<string, number>();
  const versions = new Map<string, number>();
  const members = new Map(groupIDs.map((g) => [g, new Set<string>()]));
  const known = new Map<string, string[]>();
  const appends: WorkloadAppend[] = [];
  const folders = conversationGroupEvents();
  let count = 0;
  let time = 1_700_000_000_000;

  const push = (streamId: string, events: ConversationEvent[], expected: 'stream' | 'any') => {
    const version = versions.get(streamId) ?? 0;
    versions.set(streamId, version + events.length);
    appends.push({ streamId, expectedVersion: expected === 'any' ? 'any' : version, events });
    count += events.length;
  };
  const note = (owner: string, conversationID: string) => {
    const list = known.get(owner) ?? [];
    if (!list.includes(conversationID)) list.push(conversationID);
    known.set(owner, list);
  };
  const messages = (
    conversationID: string,
    n: number,
    fields: (i: number) => Omit<MessageRecorded['data']['message'], 'seq' | 'sendTime'> & {
      atUserIDList: string[];
    },
  ): MessageRecorded[] => {
    const seq = seqs.get(conversationID) ?? 0;
    seqs.set(conversationID, seq + n);
    return Array.from({ length: n }, (_, i) => {
      const { atUserIDList, ...message } = fields(i);
      time += 1000;
      return {
        type: 'MessageRecorded',
        data: {
          conversationID,
          conversationType: message.sessionType,
          message: { ...message, seq: seq + i + 1, sendTime: time },
          atUserIDList,
        },
      };
    });
  };

  while (count < options.events) {
    const roll = next();
    if (roll < 0.55) {
      const sendID = pick(users);
      const recvID = pick(users);
      const conversationID = singleConversationID(sendID, recvID);
      const n = 1 + Math.floor(next() * 4);
      push(
        streams.messages(conversationID),
        messages(conversationID, n, (i) => ({
          clientMsgID: `${conversationID}-${seqs.get(conversationID) ?? 0}-${i}`,
          serverMsgID: '',
          sendID,
          recvID,
          groupID: '',
          sessionType: 1,
          contentType: 101,
          content: `hello ${i}`,
          atUserIDList: [],
        })),
        'stream',
      );
      note(sendID, conversationID);
      note(recvID, conversationID);
    } else if (roll < 0.65) {
      const groupID = pick(groupIDs);
      const conversationID = groupConversationID(groupID);
      const inGroup = members.get(groupID) as Set<string>;
      const maxSeq = seqs.get(conversationID) ?? 0;
      if (inGroup.size < 3 || next() < 0.7) {
        const joining = [...new Set([pick(users), pick(users), pick(users)])].filter(
          (u) => !inGroup.has(u),
        );
        if (joining.length === 0) continue;
        for (const u of joining) {
          inGroup.add(u);
          note(u, conversationID);
        }
        push(
          streams.group(groupID),
          [{ type: 'GroupMembersJoined', data: { groupID, userIDs: joining, maxSeq } }],
          'stream',
        );
      } else {
        const leaving = pick([...inGroup]);
        inGroup.delete(leaving);
        push(
          streams.group(groupID),
          [{ type: 'GroupMembersLeft', data: { groupID, userIDs: [leaving], maxSeq } }],
          'stream',
        );
      }
    } else if (roll < 0.8) {
      const groupID = pick(groupIDs);
      const inGroup = [...(members.get(groupID) as Set<string>)];
      if (inGroup.length === 0) continue;
      const conversationID = groupConversationID(groupID);
      const n = 1 + Math.floor(next() * 3);
      push(
        streams.messages(conversationID),
        messages(conversationID, n, (i) => ({
          clientMsgID: `${conversationID}-${seqs.get(conversationID) ?? 0}-${i}`,
          serverMsgID: '',
          sendID: pick(inGroup),
          recvID: '',
          groupID,
          sessionType: 3,
          contentType: 101,
          content: `to all ${i}`,
          atUserIDList: next() < 0.1 ? [pick(inGroup)] : next() < 0.03 ? ['AtAllTag'] : [],
        })),
        'stream',
      );
    } else if (roll < 0.83) {
      const owner = pick(users);
      const list = known.get(owner);
      if (!list || list.length === 0) continue;
      push(streams.owner(owner), folders.next(owner, pick(list), next()), 'any');
    } else {
      const owner = pick(users);
      const list = known.get(owner);
      if (!list || list.length === 0) continue;
      const conversationID = pick(list);
      const maxSeq = seqs.get(conversationID) ?? 0;
      const kind = next();
      time += 1000;
      const event: ConversationEvent =
        kind < 0.45
          ? { type: 'ConversationMarkedRead', data: { owner, conversationID, hasReadSeq: maxSeq } }
          : kind < 0.55
            ? markedUnread(owner, conversationID, next() < 0.5 ? undefined : maxSeq - 2)
            : kind < 0.7
              ? {
                  type: 'ConversationSettingsChanged',
                  data: {
                    owner,
                    conversationID,
                    settings: next() < 0.5 ? { isPinned: next() < 0.5 } : { recvMsgOpt: 2 },
                  },
                }
              : kind < 0.85
                ? {
                    type: 'ConversationDraftSet',
                    data: {
                      owner,
                      conversationID,
                      draftText: `draft ${count}`,
                      draftTextTime: time,
                    },
                  }
                : kind < 0.93
                  ? { type: 'ConversationHidden', data: { owner, conversationID } }
                  : kind < 0.97
                    ? {
                        type: 'ConversationCleared',
                        data: { owner, conversationID, minSeq: maxSeq + 1 },
                      }
                    : {
                        type: 'ConversationDeleted',
                        data: { owner, conversationID, minSeq: maxSeq + 1 },
                      };
      push(streams.owner(owner), [event], 'any');
    }
  }
  return appends;
};

/**
 * Appends the workload through the event store, several streams at a time: each stream's appends
 * stay in one worker, in order, so their expected versions hold.
 */
export const appendWorkload = async (
  db: Queryable,
  appends: readonly WorkloadAppend[],
  options: { concurrency?: number } = {},
): Promise<void> => {
  const concurrency = options.concurrency ?? 4;
  const lanes = Array.from({ length: concurrency }, () => [] as WorkloadAppend[]);
  for (const append of appends) {
    let hash = 0;
    for (const char of append.streamId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    lanes[hash % concurrency]?.push(append);
  }
  await Promise.all(
    lanes.map(async (lane) => {
      for (const append of lane) {
        const outcome = await appendToStream(db, append.streamId, append.events, {
          expectedVersion: append.expectedVersion,
        });
        if (!outcome.ok) throw new Error(`append to ${append.streamId}: ${outcome.error.kind}`);
      }
    }),
  );
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
  const next = random(options.seed ?? 11);
  const groupID = 'burst';
  const conversationID = groupConversationID(groupID);
  const users = Array.from({ length: options.members }, (_, i) => `b${i}`);
  const inGroup = new Set<string>();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
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
      const kind = next();
      const event: ConversationEvent =
        kind < 0.5
          ? { type: 'ConversationMarkedRead', data: { owner, conversationID, hasReadSeq: seq } }
          : kind < 0.6
            ? { type: 'ConversationHidden', data: { owner, conversationID } }
            : kind < 0.7
              ? { type: 'ConversationDeleted', data: { owner, conversationID, minSeq: seq + 1 } }
              : kind < 0.8
                ? {
                    type: 'ConversationSettingsChanged',
                    data: {
                      owner,
                      conversationID,
                      settings: { isPinned: true, recvMsgOpt: next() < 0.5 ? 0 : 2 },
                    },
                  }
                : {
                    type: 'ConversationDraftSet',
                    data: { owner, conversationID, draftText: `d${seq}`, draftTextTime: time },
                  };
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
