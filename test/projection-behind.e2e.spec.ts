import { silentLogger } from '@im/domain';
import { verifyReadModel } from '@im/projector';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  message,
  startTestEngine,
  type TestEngine,
  useTestEngine,
} from './support/harness.ts';

/**
 * A session idle in a transaction on its own connection. `appending`: it holds the log's write
 * lock, as an append that has not committed yet does, so every reader of the log must wait for
 * it. Otherwise it has only written elsewhere, which holds no reader back.
 */
const openTransaction = async (url: string, options: { appending: boolean }) => {
  const session = new pg.Client({ connectionString: url });
  await session.connect();
  await session.query('BEGIN');
  if (options.appending) await session.query('LOCK TABLE events IN ROW EXCLUSIVE MODE');
  await session.query('SELECT pg_current_xact_id()');
  return { end: () => session.end() };
};

const RECORDED = /^projection: behind the log; the change was recorded/;
const NOTHING_CHANGED = /^projection: behind the log; nothing was changed/;

describe('a command never decides on a state the projector has not brought up to date', () => {
  let t: TestEngine;
  let n = 0;
  const chat = () => {
    n += 1;
    return { a: `a${n}`, b: `b${n}`, id: `si_a${n}_b${n}` };
  };
  const send = (from: string, to: string, clientMsgID: string) =>
    t.request('recordMessage', message({ clientMsgID, sendID: from, recvID: to }));
  const one = async (userID: string, conversationID: string) =>
    (
      await t.request('getMultipleConversation', {
        userID,
        conversationIDs: [conversationID],
      })
    ).body.conversations[0];
  const typeCount = async (type: string, owner: string) => {
    const result = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM events WHERE type = ${type} AND data->>'owner' = ${owner}`.execute(
      t.engine.database.db,
    );
    return Number(result.rows[0]?.n);
  };
  /** Runs `work` while an uncommitted append holds the projector back, then lets it go. */
  const whileHeld = async <T>(work: () => Promise<T>): Promise<T> => {
    const held = await openTransaction(t.config.DATABASE_URL as string, { appending: true });
    try {
      return await work();
    } finally {
      await held.end();
    }
  };

  beforeAll(async () => {
    t = await startTestEngine({ READ_YOUR_WRITES_TIMEOUT_MS: '700' });
  });
  afterAll(() => t.stop());

  it('pin then unpin: the first is recorded and says so, the second changes nothing; the conversation ends as recorded', async () => {
    const { a, b, id } = chat();
    expect((await send(a, b, 'm1')).code).toBeUndefined();
    const before = await t.countEvents();
    const [pin, unpin] = await whileHeld(async () => [
      await t.request('pinConversation', { userID: b, conversationID: id, isPinned: true }),
      await t.request('pinConversation', { userID: b, conversationID: id, isPinned: false }),
    ]);
    expect(pin?.code).toBe(503);
    expect(pin?.error).toMatch(RECORDED);
    expect(unpin?.code).toBe(503);
    expect(unpin?.error).toMatch(NOTHING_CHANGED);
    expect(await t.countEvents()).toBe(before + 1);
    const retried = await t.request('pinConversation', {
      userID: b,
      conversationID: id,
      isPinned: false,
    });
    expect(retried.body.conversation.isPinned).toBe(false);
    expect((await one(b, id)).isPinned).toBe(false);
  });

  it('a message, then mark read: the read covers the message, never a seq before it', async () => {
    const { a, b, id } = chat();
    await send(a, b, 'm1');
    const [sent, read] = await whileHeld(async () => [
      await send(a, b, 'm2'),
      await t.request('markConversationMessageAsRead', { userID: b, conversationID: id }),
    ]);
    expect(sent?.code).toBe(503);
    expect(sent?.error).toMatch(RECORDED);
    expect(read?.code).toBe(503);
    expect(read?.error).toMatch(NOTHING_CHANGED);
    // The message service retries: the same seq, now acknowledged; then the read goes through.
    expect((await send(a, b, 'm2')).body).toEqual({ conversationID: id, seq: 2, duplicate: true });
    const marked = await t.request('markConversationMessageAsRead', {
      userID: b,
      conversationID: id,
    });
    expect(marked.body.conversation).toMatchObject({ hasReadSeq: 2, unreadCount: 0 });
    expect(await t.total(b)).toBe(0);
  });

  it('an acknowledged message, then mark read while the projector is held: recorded with that seq', async () => {
    const { a, b, id } = chat();
    await send(a, b, 'm1');
    await send(a, b, 'm2');
    const read = await whileHeld(() =>
      t.request('markConversationMessageAsRead', { userID: b, conversationID: id }),
    );
    expect(read.code).toBe(503);
    expect(read.error).toMatch(RECORDED);
    // Recorded, so it shows once the projector goes on.
    await expect.poll(() => t.total(b)).toBe(0);
    expect(await one(b, id)).toMatchObject({ hasReadSeq: 2, unreadCount: 0 });
  });

  it('a message, then delete: the deleted history includes the message, which never comes back', async () => {
    const { a, b, id } = chat();
    await send(a, b, 'm1');
    const [sent, deleted] = await whileHeld(async () => [
      await send(a, b, 'm2'),
      await t.request('deleteConversation', { userID: b, conversationID: id }),
    ]);
    expect([sent?.code, deleted?.code]).toEqual([503, 503]);
    expect(deleted?.error).toMatch(NOTHING_CHANGED);
    expect(
      (await t.request('deleteConversation', { userID: b, conversationID: id })).code,
    ).toBeUndefined();
    expect((await one(b, id)).minSeq).toBe(3);
    await send(a, b, 'm3');
    expect(await one(b, id)).toMatchObject({ minSeq: 3, maxSeq: 3, unreadCount: 1 });
    expect(JSON.parse((await one(b, id)).latestMsg).clientMsgID).toBe('m3');
  });

  it('the first message, then the receiver pins it: never 404 for a conversation that was recorded', async () => {
    const { a, b, id } = chat();
    const [sent, pin] = await whileHeld(async () => [
      await send(a, b, 'm1'),
      await t.request('pinConversation', { userID: b, conversationID: id, isPinned: true }),
    ]);
    expect(sent?.code).toBe(503);
    expect(pin?.code).toBe(503);
    expect(pin?.error).toMatch(NOTHING_CHANGED);
    const retried = await t.request('pinConversation', {
      userID: b,
      conversationID: id,
      isPinned: true,
    });
    expect(retried.body.conversation.isPinned).toBe(true);
  });

  it('delete twice: one event, however the projector lags (rule 13)', async () => {
    const { a, b, id } = chat();
    await send(a, b, 'm1');
    const replies = await whileHeld(async () => [
      await t.request('deleteConversation', { userID: b, conversationID: id }),
      await t.request('deleteConversation', { userID: b, conversationID: id }),
    ]);
    expect(replies.map((reply) => reply.code)).toEqual([503, 503]);
    expect(await typeCount('ConversationDeleted', b)).toBe(1);
    expect(
      (await t.request('deleteConversation', { userID: b, conversationID: id })).code,
    ).toBeUndefined();
    expect(await typeCount('ConversationDeleted', b)).toBe(1);
  });
});

describe('a transaction that appends nothing holds nothing back', () => {
  const t = useTestEngine({ READ_YOUR_WRITES_TIMEOUT_MS: '2000' });

  it.each([
    ['in the engine’s database', async () => t.config.DATABASE_URL as string],
    ['in another database of the cluster', () => createTestDatabase()],
  ])(
    '%s: commands answer with their effect, the projector moves, verify finds it equal',
    async (_, url) => {
      const idle = await openTransaction(await url(), { appending: false });
      try {
        for (let i = 1; i <= 20; i++) {
          const sent = await t.request(
            'recordMessage',
            message({ clientMsgID: `f${i}`, sendID: 'fx', recvID: `fy${i % 4}` }),
          );
          expect(sent.code).toBeUndefined();
          const pinned = await t.request('pinConversation', {
            userID: `fy${i % 4}`,
            conversationID: `si_fx_fy${i % 4}`,
            isPinned: i % 2 === 0,
          });
          expect(pinned.body.conversation.isPinned).toBe(i % 2 === 0);
        }
        expect(await t.total('fy1')).toBeGreaterThan(0);
        const verified = await verifyReadModel({
          database: t.engine.database,
          logger: silentLogger,
        });
        expect(verified.equal).toBe(true);
        expect(verified.checkpoint.handled).toBe(await t.countEvents());
      } finally {
        await idle.end();
      }
    },
  );
});
