import { groupConversationID } from '@im/domain';
import { type EngineDatabase, leaseHolders } from '@im/projector';
import { AckPolicy, type JsMsg } from 'nats';
import { describe, expect, it } from 'vitest';
import { type CliProcess, configEnv, runCli, stopProcess } from './support/cli-process.ts';
import { useEngineProcesses } from './support/engine-processes.ts';
import { message } from './support/harness.ts';

const PARTITIONS = 12;
const USERS = Array.from({ length: 40 }, (_, i) => `fu${i}`);
const GROUP = 'failover';

/** Which partitions each live process holds. */
const holdings = async (database: EngineDatabase) => {
  const byHolder = new Map<string, number[]>();
  for (const lease of await leaseHolders(database.db, 'projector:')) {
    if (lease.holder === '' || !lease.live) continue;
    byHolder.set(lease.holder, [
      ...(byHolder.get(lease.holder) ?? []),
      Number(lease.name.slice('projector:'.length)),
    ]);
  }
  return byHolder;
};

interface Callback {
  userID: string;
  name: string;
  version: number;
  msgID: string;
  data: any;
}

describe('three engine processes on twelve partitions, one killed under load', () => {
  const t = useEngineProcesses(['a', 'b', 'c'], {
    PROJECTOR_PARTITIONS: String(PARTITIONS),
    // A worker thread in each engine: partitions projected off the main thread fail over too.
    PROJECTOR_THREADS: '2',
  });

  it('share the partitions, take over a killed one’s within 10 s, lose no command and no callback', async () => {
    await expect
      .poll(async () => [...(await holdings(t.database)).values()].map((p) => p.length).sort(), {
        message: 'four partitions each',
        timeout: 30_000,
      })
      .toEqual([4, 4, 4]);

    // A durable consumer of every callback, as a gateway deployment keeps one.
    const jsm = await t.client.nc.jetstreamManager();
    await jsm.consumers.add(t.config.STREAM_NAME, {
      durable_name: 'failover-gateway',
      ack_policy: AckPolicy.Explicit,
    });
    const callbacks: Callback[] = [];
    const consumed = await (
      await t.client.nc.jetstream().consumers.get(t.config.STREAM_NAME, 'failover-gateway')
    ).consume();
    void (async () => {
      for await (const msg of consumed as AsyncIterable<JsMsg>) {
        const body = msg.json<{ userID: string; version: number; data: unknown }>();
        callbacks.push({
          userID: body.userID,
          name: msg.subject.split('.').at(-1) ?? '',
          version: body.version,
          msgID: msg.headers?.get('Nats-Msg-Id') ?? '',
          data: body.data,
        });
        msg.ack();
      }
    })();

    expect((await t.client.raw('joinGroup', { groupID: GROUP, userIDs: USERS })).code).toBe(
      undefined,
    );

    // The load: messages in chats and in the group, reads and pins, 16 at a time.
    let running = true;
    let sent = 0;
    const delivered: Array<{ conversationID: string; seq: number }> = [];
    const lastPins = new Map<string, boolean>();
    const worker = async (lane: number) => {
      for (let i = 0; running; i++) {
        const n = sent++;
        const from = USERS[(lane * 7 + i) % USERS.length] as string;
        const to = USERS[(lane * 11 + i * 3 + 1) % USERS.length] as string;
        if (n % 5 === 4) {
          // One lane per owner pins, so the last successful pin is the owner's last word.
          const owner = USERS[lane] as string;
          const conversationID = groupConversationID(GROUP);
          const isPinned = i % 2 === 0;
          const reply = await t.client
            .raw('pinConversation', { userID: owner, conversationID, isPinned })
            .catch(() => undefined);
          if (reply?.code === undefined && reply) lastPins.set(owner, isPinned);
          else lastPins.delete(owner);
          continue;
        }
        const body =
          n % 5 === 3
            ? message({ clientMsgID: `g${n}`, sendID: from, groupID: GROUP })
            : n % 5 === 2
              ? undefined
              : message({
                  clientMsgID: `m${n}`,
                  sendID: from,
                  recvID: from === to ? `${to}x` : to,
                });
        if (!body) {
          await t.client.raw('markSingleMessageHasRead', { userID: to, uid: from }).catch(() => {});
          continue;
        }
        const reply = await t.client.raw('recordMessage', body).catch(() => undefined);
        if (reply && reply.code === undefined) delivered.push(reply.body);
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, lane) => worker(lane)));

    await new Promise((done) => setTimeout(done, 2000));
    const [victim] = [...t.engines.keys()];
    const killedAt = Date.now();
    await stopProcess(t.engines.get(victim as string) as CliProcess, 'SIGKILL');
    t.engines.delete(victim as string);
    await expect
      .poll(async () => [...(await holdings(t.database)).values()].map((p) => p.length).sort(), {
        message: 'the survivors holding all twelve partitions',
        timeout: 10_000,
        interval: 100,
      })
      .toEqual([6, 6]);
    const tookOverMs = Date.now() - killedAt;
    await new Promise((done) => setTimeout(done, 2000));
    running = false;
    await load;
    console.log(
      `failover: ${sent} requests, ${delivered.length} messages recorded, partitions taken over ${tookOverMs} ms after the kill`,
    );
    expect(delivered.length).toBeGreaterThan(100);

    // Every message that got a success reply is in its conversation, for both sides.
    const maxSeqs = new Map<string, number>();
    for (const { conversationID, seq } of delivered)
      maxSeqs.set(conversationID, Math.max(maxSeqs.get(conversationID) ?? 0, seq));
    for (const [conversationID, seq] of maxSeqs) {
      const owners = conversationID.startsWith('sg_')
        ? USERS
        : conversationID
            .slice(3)
            .split('_')
            .filter((id) => USERS.includes(id));
      for (const owner of owners) {
        const reply = await t.client.raw('getMultipleConversation', {
          userID: owner,
          conversationIDs: [conversationID],
        });
        expect(
          reply.body.conversations[0]?.maxSeq,
          `${owner} ${conversationID}`,
        ).toBeGreaterThanOrEqual(seq);
      }
    }
    for (const [owner, isPinned] of lastPins) {
      const reply = await t.client.raw('getMultipleConversation', {
        userID: owner,
        conversationIDs: [groupConversationID(GROUP)],
      });
      expect(reply.body.conversations[0]?.isPinned, owner).toBe(isPinned);
    }

    const verify = await runCli(['verify'], configEnv(t.config));
    expect(verify.stdout).toMatch(/^equal: /);
    expect(verify.code).toBe(0);

    // Each owner's callbacks came in version order, once each, and the last of each conversation
    // and of the total shows it as it is now.
    const lists = new Map<string, any[]>();
    for (const owner of USERS)
      lists.set(
        owner,
        (await t.client.raw('getAllConversationList', { userID: owner })).body.conversations,
      );
    const totals = new Map<string, number>();
    for (const owner of USERS)
      totals.set(
        owner,
        (await t.client.raw('getTotalUnreadMsgCount', { userID: owner })).body.total,
      );
    const lastTotalOf = (owner: string) =>
      callbacks
        .filter((c) => c.userID === owner && c.name === 'OnTotalUnreadMessageCountChanged')
        .at(-1);
    const caughtUp = () =>
      USERS.every(
        (owner) =>
          (lists.get(owner) ?? []).every((item) =>
            callbacks.some(
              (c) =>
                c.userID === owner &&
                c.name !== 'OnTotalUnreadMessageCountChanged' &&
                c.data[0]?.conversationID === item.conversationID &&
                c.data[0]?.version === item.version,
            ),
          ) &&
          // The total's callback of the same change may come a moment after the conversation's.
          (lastTotalOf(owner) === undefined || lastTotalOf(owner)?.data === totals.get(owner)),
      );
    await expect
      .poll(caughtUp, { message: 'every conversation’s last change called back', timeout: 60_000 })
      .toBe(true);
    expect(new Set(callbacks.map((c) => c.msgID)).size).toBe(callbacks.length);
    for (const owner of USERS) {
      const mine = callbacks.filter((c) => c.userID === owner);
      const versions = mine.map((c) => c.version);
      expect(versions, owner).toEqual([...versions].sort((a, b) => a - b));
      const lastTotal = mine.filter((c) => c.name === 'OnTotalUnreadMessageCountChanged').at(-1);
      if (lastTotal) expect(lastTotal.data, owner).toBe(totals.get(owner));
      const last = new Map<string, number>();
      for (const c of mine)
        if (c.name !== 'OnTotalUnreadMessageCountChanged')
          last.set(c.data[0].conversationID, c.data[0].version);
      for (const item of lists.get(owner) ?? [])
        expect(last.get(item.conversationID)).toBe(item.version);
    }
  }, 240_000);
});
