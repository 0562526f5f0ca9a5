import { singleConversationID } from '@im/domain';
import { describe, expect, it } from 'vitest';
import { message, useTestEngine } from './support/harness.ts';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('concurrent commands (SPEC §3 rule 16)', () => {
  const t = useTestEngine();

  const one = async (userID: string, sessionType: 1 | 3 | 4, sourceID: string) =>
    (await t.request('getOneConversation', { userID, sessionType, sourceID })).body.conversation;

  it('200 concurrent messages into one chat all succeed with seqs 1..200 and exact unread counts', async () => {
    const replies = await Promise.all(
      range(1, 200).map((i) =>
        t.request(
          'recordMessage',
          message({
            clientMsgID: `c-${i}`,
            sendID: 'cc-a',
            recvID: 'cc-b',
            sendTime: 1_700_000_000_000 + i,
          }),
        ),
      ),
    );
    for (const reply of replies)
      expect(reply).toMatchObject({ code: undefined, body: { duplicate: false } });
    expect(replies.map((r) => r.body.seq).sort((a, b) => a - b)).toEqual(range(1, 200));

    const b = await one('cc-b', 1, 'cc-a');
    expect(b).toMatchObject({ maxSeq: 200, hasReadSeq: 0, unreadCount: 200 });
    expect(JSON.parse(b.latestMsg).seq).toBe(200);
    expect(await t.total('cc-b')).toBe(200);
    expect(await one('cc-a', 1, 'cc-b')).toMatchObject({
      maxSeq: 200,
      hasReadSeq: 200,
      unreadCount: 0,
    });
    expect(await t.total('cc-a')).toBe(0);
    await t.awaitCallback('cc-b', 'OnTotalUnreadMessageCountChanged', (total) => total === 200);
  });

  it('messages racing both ways leave each side unread exactly what came after its own last message', async () => {
    const replies = await Promise.all(
      range(1, 100).flatMap((i) => [
        t.request(
          'recordMessage',
          message({ clientMsgID: `x-${i}`, sendID: 'cx-a', recvID: 'cx-b' }),
        ),
        t.request(
          'recordMessage',
          message({ clientMsgID: `y-${i}`, sendID: 'cx-b', recvID: 'cx-a' }),
        ),
      ]),
    );
    const seqs = replies.map((r) => r.body.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(range(1, 200));
    const lastOf = (sender: string) =>
      Math.max(
        ...replies.filter((_, i) => (i % 2 === 0) === (sender === 'cx-a')).map((r) => r.body.seq),
      );
    for (const [owner, peer] of [
      ['cx-a', 'cx-b'],
      ['cx-b', 'cx-a'],
    ] as const) {
      const item = await one(owner, 1, peer);
      expect(item).toMatchObject({
        maxSeq: 200,
        hasReadSeq: lastOf(owner),
        unreadCount: 200 - lastOf(owner),
      });
      expect(await t.total(owner)).toBe(200 - lastOf(owner));
    }
  });

  it('a mark-read racing messages ends consistent: unread = maxSeq − hasReadSeq', async () => {
    await t.request(
      'recordMessage',
      message({ clientMsgID: 'r-0', sendID: 'cr-a', recvID: 'cr-b' }),
    );
    const reads: Array<Promise<unknown>> = [];
    const messages = range(1, 100).map((i) => {
      if (i % 10 === 0) {
        reads.push(
          t.request('markConversationMessageAsRead', {
            userID: 'cr-b',
            conversationID: 'si_cr-a_cr-b',
          }),
        );
      }
      return t.request(
        'recordMessage',
        message({ clientMsgID: `r-${i}`, sendID: 'cr-a', recvID: 'cr-b' }),
      );
    });
    const [sent, read] = await Promise.all([Promise.all(messages), Promise.all(reads)]);
    for (const reply of [...sent, ...(read as any[])]) expect(reply.code).toBeUndefined();
    const item = await one('cr-b', 1, 'cr-a');
    expect(item.maxSeq).toBe(101);
    expect(item.hasReadSeq).toBeGreaterThanOrEqual(1);
    expect(item.unreadCount).toBe(item.maxSeq - item.hasReadSeq);
    expect(await t.total('cr-b')).toBe(item.unreadCount);

    const done = await t.request('markConversationMessageAsRead', {
      userID: 'cr-b',
      conversationID: 'si_cr-a_cr-b',
    });
    expect(done.body.conversation).toMatchObject({ hasReadSeq: 101, unreadCount: 0 });
    expect(await t.total('cr-b')).toBe(0);
    await t.awaitCallback('cr-b', 'OnTotalUnreadMessageCountChanged', (total) => total === 0);
  });

  it('concurrent commands of one owner on one conversation are all applied, without a 409', async () => {
    await t.request(
      'recordMessage',
      message({ clientMsgID: 'o-0', sendID: 'co-a', recvID: 'co-b' }),
    );
    const conversationID = 'si_co-a_co-b';
    const replies = await Promise.all([
      ...range(1, 20).map((i) =>
        t.request('setConversation', {
          userID: 'co-b',
          conversationID,
          ex: `ex-${i}`,
          burnDuration: i,
        }),
      ),
      t.request('pinConversation', { userID: 'co-b', conversationID, isPinned: true }),
      t.request('setConversationDraft', {
        userID: 'co-b',
        conversationID,
        draftText: 'typing',
      }),
      t.request('setConversationRecvMessageOpt', {
        userID: 'co-b',
        conversationIDs: [conversationID],
        opt: 2,
      }),
      t.request('markConversationMessageAsRead', { userID: 'co-b', conversationID }),
    ]);
    for (const reply of replies) expect(reply).toMatchObject({ code: undefined, error: undefined });
    const item = await one('co-b', 1, 'co-a');
    expect(item).toMatchObject({
      isPinned: true,
      draftText: 'typing',
      recvMsgOpt: 2,
      hasReadSeq: 1,
      unreadCount: 0,
    });
    // The settings came in some order: the last one applied wins both of its fields together.
    expect(item.ex).toBe(`ex-${item.burnDuration}`);
  });

  it('commands of many owners decided together each read and answer their own conversation', async () => {
    const owners = range(1, 30).map((i) => `many-${i}`);
    await Promise.all(
      owners.map((owner, i) =>
        t.request(
          'recordMessage',
          message({ clientMsgID: `many-${i}`, sendID: 'many-peer', recvID: owner }),
        ),
      ),
    );
    // Every other owner pins, the rest write a draft naming themselves, all at once.
    const replies = await Promise.all(
      owners.map((owner, i) =>
        i % 2 === 0
          ? t.request('pinConversation', {
              userID: owner,
              conversationID: singleConversationID('many-peer', owner),
              isPinned: true,
            })
          : t.request('setConversationDraft', {
              userID: owner,
              conversationID: singleConversationID('many-peer', owner),
              draftText: `draft of ${owner}`,
            }),
      ),
    );
    replies.forEach((reply, i) => {
      const owner = owners[i] as string;
      expect(reply.body.conversation).toMatchObject(
        i % 2 === 0
          ? {
              conversationID: singleConversationID('many-peer', owner),
              isPinned: true,
              draftText: '',
            }
          : {
              conversationID: singleConversationID('many-peer', owner),
              isPinned: false,
              draftText: `draft of ${owner}`,
            },
      );
    });
  });

  it('members joining a group while messages arrive each see exactly the messages after their join', async () => {
    await t.request('joinGroup', { groupID: 'cg', userIDs: ['cg-a'] });
    const members = range(1, 10).map((i) => `cg-m${i}`);
    const replies = await Promise.all([
      ...range(1, 50).map((i) =>
        t.request(
          'recordMessage',
          message({ clientMsgID: `g-${i}`, sendID: 'cg-a', groupID: 'cg' }),
        ),
      ),
      ...members.map((m) => t.request('joinGroup', { groupID: 'cg', userIDs: [m] })),
    ]);
    for (const reply of replies) expect(reply).toMatchObject({ code: undefined, error: undefined });
    for (const member of members) {
      const item = await one(member, 3, 'cg');
      expect(item).toMatchObject({ maxSeq: 50, isNotInGroup: false, hasReadSeq: 0 });
      expect(item.unreadCount).toBe(50 - (item.minSeq - 1));
      if (item.unreadCount > 0) expect(JSON.parse(item.latestMsg).seq).toBe(50);
      else expect(item.latestMsg).toBe('');
    }
  });
});
