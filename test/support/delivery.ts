/** What a gateway sees of the callback stream, and the workload and checks of delivery tests. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '@im/api';
import { type Kysely, sql } from 'kysely';
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type NatsConnection, nanos } from 'nats';
import { expect } from 'vitest';
import { type Delivered, toDelivered } from './callback-collector.ts';
import { message } from './harness.ts';
import type { patientClient } from './patient-client.ts';

/** What a gateway keeps: the first delivery of each Nats-Msg-Id, in arrival order. */
export const dedupe = (all: readonly Delivered[]) => {
  const seen = new Set<string>();
  return all.filter((c) => !seen.has(c.msgID) && seen.add(c.msgID));
};

/**
 * The Nats-Msg-Ids the event log calls for, for a workload of group joins and messages in which
 * every conversation's messages come from one sender: each message changes every participant's
 * conversation at the message's version (new the first time), and the total of everyone but the
 * sender. The version of an event is its place in the log's read order.
 */
export const expectedMsgIDs = async (db: Kysely<any>): Promise<string[]> => {
  const { rows } = await sql<{ type: string; data: any }>`
    SELECT type, data FROM events ORDER BY transaction_id, global_position`.execute(db);
  const members = new Map<string, string[]>();
  const listed = new Set<string>();
  const expected: string[] = [];
  rows.forEach(({ type, data }, index) => {
    const version = index + 1;
    if (type === 'GroupMembersJoined') {
      const conversationID = `sg_${data.groupID}`;
      members.set(conversationID, [...(members.get(conversationID) ?? []), ...data.userIDs]);
      return;
    }
    expect(type).toBe('MessageRecorded');
    const { sendID, recvID } = data.message;
    const owners =
      data.conversationType === 3 ? (members.get(data.conversationID) ?? []) : [sendID, recvID];
    for (const owner of owners) {
      const key = `${owner} ${data.conversationID}`;
      expected.push(
        `${owner}.${version}.${listed.has(key) ? 'OnConversationChanged' : 'OnNewConversation'}`,
      );
      listed.add(key);
      if (owner !== sendID) expected.push(`${owner}.${version}.OnTotalUnreadMessageCountChanged`);
    }
  });
  return expected;
};

/**
 * The changes the outbox rows not yet published stand for: a group message's row, one for each
 * member it did not name whose row is older than it.
 */
export const changesDue = sql`
  SELECT coalesce(sum(CASE WHEN c.kind <> 4 THEN 1 ELSE (
           SELECT count(*) FROM conversation_item m
           WHERE m.conversation_id = c.conversation_id AND NOT m.is_not_in_group
             AND m.version < c.version) END), 0)::int AS n
  FROM conversation_change c`;

/** Returns as soon as one more group message is in the event log. */
export const nextGroupMessage = async (db: Kysely<any>) => {
  const count = async () =>
    Number(
      (
        await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM events
          WHERE type = 'MessageRecorded' AND (data->>'conversationType')::int = 3`.execute(db)
      ).rows[0]?.n,
    );
  const seen = await count();
  const deadline = Date.now() + 60_000;
  while ((await count()) === seen) {
    if (Date.now() > deadline) throw new Error('no group message within 60 s');
  }
};

/** Returns while a group message's callbacks go out: the stream grows by a hundred between looks. */
export const duringBurst = async (streamSeq: () => Promise<number>) => {
  const deadline = Date.now() + 60_000;
  let seen = await streamSeq();
  for (;;) {
    const seq = await streamSeq();
    if (seq - seen >= 100) return;
    seen = seq;
    if (Date.now() > deadline) throw new Error('no burst of callbacks within 60 s');
  }
};

/**
 * Freezes a process (SIGSTOP) once `burst` says a group message's callbacks are due or going out,
 * and answers how many outbox rows are due, at least `minimum` (a whole group message) not yet
 * checkpointed; when the freeze came too late for that, thaws it and waits for the next burst.
 */
export const freezeWhileDue = async (
  burst: () => Promise<void>,
  unpublished: () => Promise<number>,
  signal: (name: NodeJS.Signals) => void,
  minimum: number,
): Promise<number> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    await burst();
    signal('SIGSTOP');
    const reached = await expect
      .poll(async () => (await unpublished()) >= minimum, { message: 'rows due', timeout: 3000 })
      .toBe(true)
      .then(() => true)
      .catch(() => false);
    // Acks already on their way when the process froze may still land: look again after them.
    if (reached) await sleep(300);
    const due = await unpublished();
    if (due >= minimum) return due;
    signal('SIGCONT');
  }
  throw new Error('never froze with a group message due');
};

/** Per owner, callbacks in arrival order never go back in version, and each kind strictly rises. */
export const expectVersionOrder = (delivered: readonly Delivered[]) => {
  const last = new Map<string, number>();
  for (const c of delivered) {
    expect(c.version, `${c.msgID} after version ${last.get(c.userID)}`).toBeGreaterThanOrEqual(
      last.get(c.userID) ?? 0,
    );
    last.set(c.userID, c.version);
    const kind = `${c.userID} ${c.name}`;
    expect(c.version, `${c.msgID} repeats a version`).toBeGreaterThan(last.get(kind) ?? 0);
    last.set(kind, c.version);
  }
};

/** The last callbacks an owner got show the state the engine answers now. */
export const expectLastStates = async (
  client: Awaited<ReturnType<typeof patientClient>>,
  delivered: readonly Delivered[],
  owners: readonly string[],
) => {
  for (const owner of owners) {
    const mine = delivered.filter((c) => c.userID === owner);
    const { conversations } = await client.request('getAllConversationList', { userID: owner });
    expect(conversations.length).toBeGreaterThan(0);
    for (const item of conversations) {
      const last = mine.findLast(
        (c) =>
          c.name !== 'OnTotalUnreadMessageCountChanged' &&
          c.data[0]?.conversationID === item.conversationID,
      );
      expect(last?.data).toEqual([item]);
    }
    const { total } = await client.request('getTotalUnreadMsgCount', { userID: owner });
    const lastTotal = mine.findLast((c) => c.name === 'OnTotalUnreadMessageCountChanged');
    expect(lastTotal?.data ?? 0).toBe(total);
  }
};

/** A durable pull consumer, as a gateway runs it: acks each callback after keeping it. */
export const durableConsumer = async (nc: NatsConnection, config: Config, name: string) => {
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(config.STREAM_NAME, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${config.SUBJECT_PREFIX}.events.>`,
    // A delivery lost on its way (its connection's server killed) is delivered again after this:
    // shorter than the default 30 s, so a test sees it before its time runs out.
    ack_wait: nanos(3000),
  });
  const consumer = await nc.jetstream().consumers.get(config.STREAM_NAME, name);
  const messages: ConsumerMessages = await consumer.consume();
  const received: Delivered[] = [];
  void (async () => {
    for await (const msg of messages) {
      received.push(toDelivered(msg));
      msg.ack();
    }
  })();
  return { received, stop: () => messages.close() };
};

/**
 * Waits until the consumer got every expected callback at least once: one whose delivery was lost
 * with a killed server comes again after the consumer's ack wait, behind later ones.
 */
export const deliveredAll = async (received: readonly Delivered[], expected: readonly string[]) => {
  await expect
    .poll(
      () => {
        const got = new Set(received.map((c) => c.msgID));
        return expected.filter((id) => !got.has(id)).length;
      },
      { message: 'callbacks the durable consumer has not got yet', timeout: 60_000 },
    )
    .toBe(0);
};

/** Every callback in the stream, in stream order, read by an ordered consumer from the start. */
export const readStream = async (nc: NatsConnection, config: Config): Promise<Delivered[]> => {
  const info = await (await nc.jetstreamManager()).streams.info(config.STREAM_NAME);
  const consumer = await nc.jetstream().consumers.get(config.STREAM_NAME);
  const messages = await consumer.consume();
  const all: Delivered[] = [];
  for await (const msg of messages) {
    all.push(toDelivered(msg));
    if (msg.seq >= info.state.last_seq) break;
  }
  return all;
};

export const crowd = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

/**
 * A stream of commands from a few concurrent callers: one message in four goes to a group, the
 * rest to fixed single chats. `onProgress` sees each completed command.
 */
export const runCommands = async (
  client: Awaited<ReturnType<typeof patientClient>>,
  options: { tag: string; count: number; groupID: string; sender: string },
  onProgress: (done: number) => Promise<void> | void = () => {},
) => {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < options.count) {
      const i = next++;
      const pair = i % 3;
      const body =
        i % 4 === 0
          ? message({
              clientMsgID: `${options.tag}${i}`,
              sendID: options.sender,
              groupID: options.groupID,
            })
          : message({
              clientMsgID: `${options.tag}${i}`,
              sendID: `${options.tag}s${pair}`,
              recvID: `${options.tag}r${pair}`,
            });
      await client.request('recordMessage', body);
      await onProgress(++done);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
};

/** Waits until a final marker message's callbacks arrived: all due before it have arrived too. */
export const markerDone = async (
  client: Awaited<ReturnType<typeof patientClient>>,
  received: () => readonly Delivered[],
  tag: string,
) => {
  await client.request(
    'recordMessage',
    message({ clientMsgID: `${tag}-end`, sendID: `${tag}-a`, recvID: `${tag}-b` }),
  );
  // Both sides': the sender's OnNewConversation may be published after the receiver's two.
  const of = (userID: string) => received().filter((c) => c.userID === userID).length;
  await expect
    .poll(() => of(`${tag}-a`) >= 1 && of(`${tag}-b`) >= 2, {
      message: 'the marker callbacks',
      timeout: 120_000,
    })
    .toBe(true);
};
