import {
  type ConversationEvent,
  groupConversationID,
  type MessageRecorded,
  singleConversationID,
  streams,
} from '@im/domain';
import type { Queryable } from '@im/eventstore';
import { appendToStream } from '@im/eventstore';
import { conversationGroupEvents, ownerEvent } from './owner-workload.ts';

/** One append: events for one stream at the version the workload expects it to have. */
export interface WorkloadAppend {
  streamId: string;
  expectedVersion: number | 'any';
  events: ConversationEvent[];
}

/** A workload's draws: a number in [0, 1), and one of a list. */
export interface Draw {
  next: () => number;
  pick: <T>(list: readonly T[]) => T;
}

/** Draws from a small deterministic PRNG (mulberry32): the same seed makes the same log. */
export const seededDraw = (seed: number): Draw => {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  return { next, pick };
};

/** A message's fields as a workload draws them: all but its seq and time, with its @ list. */
type DrawnMessage = Omit<MessageRecorded['data']['message'], 'seq' | 'sendTime'> & {
  atUserIDList: string[];
};

/**
 * The log a workload builds: its appends with each stream's expected version, each
 * conversation's seq, the conversations each owner has, the events so far and the clock.
 */
const createLog = () => {
  const seqs = new Map<string, number>();
  const versions = new Map<string, number>();
  const known = new Map<string, string[]>();
  const appends: WorkloadAppend[] = [];
  const log = {
    appends,
    seqs,
    known,
    count: 0,
    time: 1_700_000_000_000,
    push(streamId: string, events: ConversationEvent[], expected: 'stream' | 'any') {
      const version = versions.get(streamId) ?? 0;
      versions.set(streamId, version + events.length);
      appends.push({ streamId, expectedVersion: expected === 'any' ? 'any' : version, events });
      log.count += events.length;
    },
    note(owner: string, conversationID: string) {
      const list = known.get(owner) ?? [];
      if (!list.includes(conversationID)) list.push(conversationID);
      known.set(owner, list);
    },
    messages(
      conversationID: string,
      n: number,
      fields: (i: number) => DrawnMessage,
    ): MessageRecorded[] {
      const seq = seqs.get(conversationID) ?? 0;
      seqs.set(conversationID, seq + n);
      return Array.from({ length: n }, (_, i) => {
        const { atUserIDList, ...message } = fields(i);
        log.time += 1000;
        return {
          type: 'MessageRecorded',
          data: {
            conversationID,
            conversationType: message.sessionType,
            message: { ...message, seq: seq + i + 1, sendTime: log.time },
            atUserIDList,
          },
        };
      });
    },
  };
  return log;
};

type Log = ReturnType<typeof createLog>;

/** One to four messages between two users. */
const singleChat = (log: Log, { next, pick }: Draw, users: readonly string[]) => {
  const sendID = pick(users);
  const recvID = pick(users);
  const conversationID = singleConversationID(sendID, recvID);
  const n = 1 + Math.floor(next() * 4);
  log.push(
    streams.messages(conversationID),
    log.messages(conversationID, n, (i) => ({
      clientMsgID: `${conversationID}-${log.seqs.get(conversationID) ?? 0}-${i}`,
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
  log.note(sendID, conversationID);
  log.note(recvID, conversationID);
};

/** Up to three users join a group (always while it has fewer than three), or one leaves. */
const membership = (
  log: Log,
  { next, pick }: Draw,
  users: readonly string[],
  groupID: string,
  inGroup: Set<string>,
) => {
  const conversationID = groupConversationID(groupID);
  const maxSeq = log.seqs.get(conversationID) ?? 0;
  if (inGroup.size < 3 || next() < 0.7) {
    const joining = [...new Set([pick(users), pick(users), pick(users)])].filter(
      (u) => !inGroup.has(u),
    );
    if (joining.length === 0) return;
    for (const u of joining) {
      inGroup.add(u);
      log.note(u, conversationID);
    }
    log.push(
      streams.group(groupID),
      [{ type: 'GroupMembersJoined', data: { groupID, userIDs: joining, maxSeq } }],
      'stream',
    );
  } else {
    const leaving = pick([...inGroup]);
    inGroup.delete(leaving);
    log.push(
      streams.group(groupID),
      [{ type: 'GroupMembersLeft', data: { groupID, userIDs: [leaving], maxSeq } }],
      'stream',
    );
  }
};

/** One to three messages from members, some @-mentioning one of them or everyone. */
const groupChat = (log: Log, { next, pick }: Draw, groupID: string, inGroup: string[]) => {
  if (inGroup.length === 0) return;
  const conversationID = groupConversationID(groupID);
  const n = 1 + Math.floor(next() * 3);
  log.push(
    streams.messages(conversationID),
    log.messages(conversationID, n, (i) => ({
      clientMsgID: `${conversationID}-${log.seqs.get(conversationID) ?? 0}-${i}`,
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
};

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
  const draw = seededDraw(options.seed ?? 1);
  const { next, pick } = draw;
  const users = Array.from({ length: options.users ?? 500 }, (_, i) => `u${i}`);
  const groupIDs = Array.from({ length: options.groups ?? 20 }, (_, i) => `g${i}`);
  const members = new Map(groupIDs.map((g) => [g, new Set<string>()]));
  const folders = conversationGroupEvents();
  const log = createLog();
  while (log.count < options.events) {
    const roll = next();
    if (roll < 0.55) singleChat(log, draw, users);
    else if (roll < 0.65) {
      const groupID = pick(groupIDs);
      membership(log, draw, users, groupID, members.get(groupID) as Set<string>);
    } else if (roll < 0.8) {
      const groupID = pick(groupIDs);
      groupChat(log, draw, groupID, [...(members.get(groupID) as Set<string>)]);
    } else {
      const owner = pick(users);
      const list = log.known.get(owner);
      if (!list || list.length === 0) continue;
      if (roll < 0.83) {
        log.push(streams.owner(owner), folders.next(owner, pick(list), next()), 'any');
        continue;
      }
      const conversationID = pick(list);
      const maxSeq = log.seqs.get(conversationID) ?? 0;
      log.time += 1000;
      const at = { owner, conversationID, maxSeq, time: log.time, count: log.count };
      log.push(streams.owner(owner), [ownerEvent(at, next)], 'any');
    }
  }
  return log.appends;
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
