import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { message, type TestEngine, useTestEngine } from './support/harness.ts';

const eventCount = async (engine: TestEngine) =>
  Number(
    (
      await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(
        engine.engine.database.db,
      )
    ).rows[0]?.n,
  );

describe('the first slice over NATS and PostgreSQL', () => {
  const t = useTestEngine();

  it('registers with the NATS services API as conversation-engine', async () => {
    const reply = await t.nc.request('$SRV.PING.conversation-engine', new Uint8Array(), {
      timeout: 5000,
    });
    expect(reply.json<{ name: string; type: string }>()).toMatchObject({
      name: 'conversation-engine',
      type: 'io.nats.micro.v1.ping_response',
    });
  });

  it('says in $SRV.STATS which partitions it holds and how far behind each is', async () => {
    const stats = () => t.serviceStats();
    await expect
      .poll(async () => (await stats())?.partitions?.length, { timeout: 15_000 })
      .toBe(t.config.PROJECTOR_PARTITIONS);
    const data = await stats();
    expect(data.instance).toBe(t.config.INSTANCE_ID);
    for (const [i, partition] of data.partitions.entries())
      expect(partition).toEqual({
        id: i,
        lagEvents: expect.any(Number),
        lagSeconds: expect.any(Number),
      });
  });

  it('puts a single-chat message into both lists with the right unread counts and callbacks', async () => {
    const recorded = await t.request(
      'recordMessage',
      message({ clientMsgID: 'c1', sendID: 'alice', recvID: 'bob', content: 'hi bob' }),
    );
    expect(recorded).toMatchObject({
      code: undefined,
      body: { conversationID: 'si_alice_bob', seq: 1, duplicate: false },
    });

    const bobList = (await t.request('getAllConversationList', { userID: 'bob' })).body
      .conversations;
    expect(bobList).toHaveLength(1);
    expect(bobList[0]).toMatchObject({
      conversationID: 'si_alice_bob',
      conversationType: 1,
      userID: 'alice',
      groupID: '',
      unreadCount: 1,
      maxSeq: 1,
      hasReadSeq: 0,
      latestMsgSendTime: 1_700_000_000_000,
      isPinned: false,
    });
    expect(JSON.parse(bobList[0].latestMsg)).toMatchObject({
      clientMsgID: 'c1',
      sendID: 'alice',
      content: 'hi bob',
      seq: 1,
    });

    const aliceList = (await t.request('getAllConversationList', { userID: 'alice' })).body
      .conversations;
    expect(aliceList[0]).toMatchObject({
      conversationID: 'si_alice_bob',
      userID: 'bob',
      unreadCount: 0,
      hasReadSeq: 1,
    });
    expect((await t.request('getTotalUnreadMsgCount', { userID: 'bob' })).body).toEqual({
      total: 1,
    });
    expect((await t.request('getTotalUnreadMsgCount', { userID: 'alice' })).body).toEqual({
      total: 0,
    });

    const callbacks = await t.callbacks.until(
      (all) => all.filter((c) => c.userID === 'bob').length >= 2,
    );
    const bobs = callbacks.filter((c) => c.userID === 'bob');
    expect(bobs.map((c) => c.subject)).toEqual([
      `${t.config.SUBJECT_PREFIX}.events.bob.OnNewConversation`,
      `${t.config.SUBJECT_PREFIX}.events.bob.OnTotalUnreadMessageCountChanged`,
    ]);
    expect(bobs[0]?.data[0]).toMatchObject({ conversationID: 'si_alice_bob', unreadCount: 1 });
    expect(bobs[1]?.data).toBe(1);
    expect(bobs[0]?.msgID).toBe(`bob.${bobs[0]?.version}.OnNewConversation`);
  });

  it('pins, moving the conversation to the top and publishing OnConversationChanged', async () => {
    await t.request(
      'recordMessage',
      message({ clientMsgID: 'c2', sendID: 'carol', recvID: 'bob', sendTime: 1_800_000_000_000 }),
    );
    const before = (await t.request('getAllConversationList', { userID: 'bob' })).body
      .conversations;
    expect(before.map((c: { conversationID: string }) => c.conversationID)).toEqual([
      'si_bob_carol',
      'si_alice_bob',
    ]);

    const pinned = await t.request('pinConversation', {
      userID: 'bob',
      conversationID: 'si_alice_bob',
      isPinned: true,
    });
    expect(pinned.body.conversation).toMatchObject({
      conversationID: 'si_alice_bob',
      isPinned: true,
    });
    const after = (await t.request('getAllConversationList', { userID: 'bob' })).body.conversations;
    expect(after.map((c: { conversationID: string }) => c.conversationID)).toEqual([
      'si_alice_bob',
      'si_bob_carol',
    ]);

    const changed = await t.callbacks.until((all) =>
      all.some(
        (c) => c.userID === 'bob' && c.name === 'OnConversationChanged' && c.data[0]?.isPinned,
      ),
    );
    const pinCallback = changed.find(
      (c) => c.name === 'OnConversationChanged' && c.data[0]?.isPinned,
    );
    expect(pinCallback?.version).toBe(pinned.body.conversation.version);
    // Pinning changes no unread count: no total callback at that version.
    expect(
      changed.some(
        (c) => c.name === 'OnTotalUnreadMessageCountChanged' && c.version === pinCallback?.version,
      ),
    ).toBe(false);
  });

  it('answers the whole list with the same items, field for field, as the other queries', async () => {
    const list = (await t.request('getAllConversationList', { userID: 'bob' })).body.conversations;
    const ids = list.map((c: { conversationID: string }) => c.conversationID);
    const multiple = (
      await t.request('getMultipleConversation', { userID: 'bob', conversationIDs: ids })
    ).body.conversations;
    const byID = new Map(multiple.map((c: { conversationID: string }) => [c.conversationID, c]));
    expect(list.length).toBeGreaterThan(0);
    for (const item of list) expect(item).toStrictEqual(byID.get(item.conversationID));
  });

  it('answers a retried pin without appending or publishing anything', async () => {
    const events = await eventCount(t);
    const reply = await t.request('pinConversation', {
      userID: 'bob',
      conversationID: 'si_alice_bob',
      isPinned: true,
    });
    expect(reply.code).toBeUndefined();
    expect(await eventCount(t)).toBe(events);
  });

  it.each([
    ['not JSON', 'recordMessage', '{nope', 'request: not valid JSON'],
    [
      'a missing field',
      'recordMessage',
      { sendID: 'a', recvID: 'b', sessionType: 1, contentType: 1, content: '', sendTime: 1 },
      'clientMsgID',
    ],
    [
      'a mistyped field',
      'pinConversation',
      { userID: 'bob', conversationID: 'si_alice_bob', isPinned: 'yes' },
      'isPinned',
    ],
    ['a userID with a dot', 'getAllConversationList', { userID: 'bob.smith' }, 'userID'],
    ['an unknown field', 'getTotalUnreadMsgCount', { userID: 'bob', admin: true }, 'admin'],
    [
      'a retired session type',
      'recordMessage',
      message({ clientMsgID: 'x', sendID: 'a', recvID: 'b', sessionType: 2 as 1 }),
      'sessionType',
    ],
  ])(
    'answers %s with 400 naming the problem, appending nothing',
    async (_what, method, body, named) => {
      const events = await eventCount(t);
      const reply = await t.raw(method, body);
      expect(reply.code).toBe(400);
      expect(reply.error).toContain(named);
      expect(reply.body).toEqual({ errCode: 400, errMsg: reply.error, errDlt: expect.any(String) });
      expect(await eventCount(t)).toBe(events);
    },
  );
});
