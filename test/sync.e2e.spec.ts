import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { ReceivedCallback } from './support/callback-collector.ts';
import {
  callbacksFor,
  conversationIDs,
  message,
  type Reply,
  useTestEngine,
} from './support/harness.ts';

describe('syncConversations', () => {
  const t = useTestEngine();

  const sync = async (userID: string, sinceVersion?: number) => {
    const reply = await t.request('syncConversations', { userID, sinceVersion });
    expect(reply.code).toBeUndefined();
    return reply.body;
  };
  const send = async (clientMsgID: string, sendID: string, recvID: string, content = 'hi') => {
    const reply = await t.request(
      'recordMessage',
      message({ clientMsgID, sendID, recvID, content }),
    );
    expect(reply.code).toBeUndefined();
  };
  /** The start and end callbacks of the owner's syncs, in arrival order, once `count` ended. */
  const brackets = async (userID: string, count: number) => {
    const ofSync = (c: ReceivedCallback) =>
      c.userID === userID && c.name.startsWith('OnSync') && c.name !== 'OnSyncServerProgress';
    const ended = (c: ReceivedCallback) => ofSync(c) && c.name !== 'OnSyncServerStart';
    const all = await t.callbacks.until((received) => received.filter(ended).length >= count);
    return all.filter(ofSync);
  };

  it('answers an owner without conversations with an empty full sync at version 0', async () => {
    expect(await sync('nobody')).toEqual({
      version: 0,
      full: true,
      conversations: [],
      deletedConversationIDs: [],
      conversationGroups: [],
      nextCursor: null,
    });
    const [start, finish] = await brackets('nobody', 1);
    expect(start).toMatchObject({ name: 'OnSyncServerStart', data: { full: true } });
    expect(finish).toMatchObject({
      name: 'OnSyncServerFinish',
      data: { full: true, version: 0 },
    });
  });

  it('answers everything, then only what changed, including deleted and hidden IDs', async () => {
    await send('s1', 'bob', 'alice');
    await send('s2', 'carol', 'alice');
    await send('s3', 'dave', 'alice');
    const list = (await t.request('getAllConversationList', { userID: 'alice' })).body
      .conversations;

    const full = await sync('alice');
    expect(full.full).toBe(true);
    expect(full.conversations).toEqual(list);
    expect(full.deletedConversationIDs).toEqual([]);
    expect(full.version).toBe(Math.max(...list.map((c: { version: number }) => c.version)));

    // Changes after the full sync: one deleted, one hidden, one pinned, one new.
    await t.request('deleteConversation', {
      userID: 'alice',
      conversationID: 'si_alice_bob',
    });
    await t.request('hideConversation', {
      userID: 'alice',
      conversationID: 'si_alice_carol',
    });
    const pinned = await t.request('pinConversation', {
      userID: 'alice',
      conversationID: 'si_alice_dave',
      isPinned: true,
    });
    await send('s4', 'erin', 'alice');
    // Someone else's change moves no version of alice's.
    await send('s5', 'bob', 'frank');

    const changes = await sync('alice', full.version);
    expect(changes.full).toBe(false);
    expect(conversationIDs(changes.conversations).sort()).toEqual([
      'si_alice_dave',
      'si_alice_erin',
    ]);
    expect(changes.conversations.find((c: any) => c.conversationID === 'si_alice_dave')).toEqual(
      pinned.body.conversation,
    );
    expect(changes.deletedConversationIDs.sort()).toEqual(['si_alice_bob', 'si_alice_carol']);
    expect(changes.version).toBeGreaterThan(full.version);
    expect(changes.version).toBe(
      Math.max(...changes.conversations.map((c: { version: number }) => c.version)),
    );

    expect(await sync('alice', changes.version)).toEqual({
      version: changes.version,
      full: false,
      conversations: [],
      deletedConversationIDs: [],
      conversationGroups: [],
      nextCursor: null,
    });

    const ended = await brackets('alice', 3);
    expect(ended.map((c) => [c.name, c.data])).toEqual([
      ['OnSyncServerStart', { full: true }],
      ['OnSyncServerFinish', { full: true, version: full.version }],
      ['OnSyncServerStart', { full: false }],
      ['OnSyncServerFinish', { full: false, version: changes.version }],
      ['OnSyncServerStart', { full: false }],
      ['OnSyncServerFinish', { full: false, version: changes.version }],
    ]);
    // Each request's callbacks carry their own Nats-Msg-Id: no sync is dropped as a duplicate.
    expect(new Set(ended.map((c) => c.msgID)).size).toBe(6);
  });

  it('answers a full sync for a version ahead of the owner', async () => {
    const reply = await sync('alice', 1_000_000);
    expect(reply.full).toBe(true);
    const [start, finish] = (await brackets('alice', 4)).slice(-2);
    expect(start).toMatchObject({ name: 'OnSyncServerStart', data: { full: false } });
    expect(finish).toMatchObject({ name: 'OnSyncServerFinish', data: { full: true } });
    expect(reply.conversations).toEqual(
      (await t.request('getAllConversationList', { userID: 'alice' })).body.conversations,
    );
  });

  it('pages a full answer that would not fit in one NATS message, then continues by version', async () => {
    // 72 conversations of about 16 KiB each: over the server's 1 MiB maximum payload.
    const big = 'x'.repeat(16 * 1024 - 64);
    for (let i = 0; i < 72; i += 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, j) => send(`big${i + j}`, `peer${i + j}`, 'heavy', big)),
      );
    }
    const everything = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.request('getConversationListPage', {
        userID: 'heavy',
        limit: 20,
        ...(cursor ? { cursor } : {}),
      });
      everything.push(...page.body.conversations);
      cursor = page.body.nextCursor;
    } while (cursor);

    const first = await sync('heavy');
    expect(first.full).toBe(true);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(first.conversations.length).toBeGreaterThan(0);
    expect(first.conversations.length).toBeLessThan(72);
    expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThanOrEqual(
      t.nc.info?.max_payload as number,
    );
    // The rest, page by page, at the first page's version (SPEC §8.2 rule 23).
    const rest = [];
    cursor = first.nextCursor;
    while (cursor) {
      const page: any = await t.request('syncConversations', { userID: 'heavy', cursor });
      expect(page.body).toMatchObject({ full: true, version: first.version });
      rest.push(...page.body.conversations);
      cursor = page.body.nextCursor;
    }
    expect(conversationIDs([...first.conversations, ...rest])).toEqual(conversationIDs(everything));
    // A gateway that continues with list pages, as before paged syncs, gets the same rest.
    const viaList: any = await t.request('getConversationListPage', {
      userID: 'heavy',
      cursor: first.nextCursor,
      limit: 20,
    });
    expect(conversationIDs(viaList.body.conversations)).toEqual(conversationIDs(rest).slice(0, 20));

    // Too many changes for one message: the incremental answer turns full, paged the same way.
    const since = await sync('heavy', 0);
    expect(since).toMatchObject({ full: true, nextCursor: first.nextCursor });
    expect(since.conversations).toEqual(first.conversations);

    // The paged sync finished once, after its last page; its progress rose to 100 on the way.
    const finished = (await brackets('heavy', 1)).filter((c) => c.name === 'OnSyncServerFinish');
    expect(finished).toMatchObject([{ data: { full: true, version: first.version } }]);
    const progress = callbacksFor(await t.callbacksUntilNow(), 'heavy', 'OnSyncServerProgress').map(
      (c) => (c.data as { progress: number }).progress,
    );
    const firstSync = progress.slice(0, progress.indexOf(100) + 1);
    expect(firstSync.length).toBeGreaterThanOrEqual(2);
    expect(firstSync).toEqual([...firstSync].sort((a, b) => a - b));
    expect(firstSync.at(-1)).toBe(100);
  });

  it('publishes OnSyncServerFailed when the sync cannot be answered', async () => {
    const { db } = t.engine.database;
    await send('f1', 'bob', 'grace');
    await sql`ALTER TABLE conversation_item RENAME TO conversation_item_away`.execute(db);
    let reply: Reply;
    try {
      reply = await t.request('syncConversations', { userID: 'grace', sinceVersion: 0 });
    } finally {
      await sql`ALTER TABLE conversation_item_away RENAME TO conversation_item`.execute(db);
    }
    expect(reply.code).toBe(500);
    const ended = await brackets('grace', 1);
    expect(ended.map((c) => [c.name, c.data])).toEqual([
      ['OnSyncServerStart', { full: false }],
      ['OnSyncServerFailed', { full: false, error: expect.stringContaining('retry') }],
    ]);
  });
});
