import { describe, expect, it } from 'vitest';
import { callbacksFor, latestMsgOf, message, useTestEngine } from './support/harness.ts';

describe('single and notification chats (SPEC §3 rules 1, 12, 14)', () => {
  const t = useTestEngine();

  it('rule 1: puts a message into both lists, each announced once, and never leaves the sender unread', async () => {
    const first = await t.request(
      'recordMessage',
      message({ clientMsgID: 'r1-1', sendID: 'r1-ann', recvID: 'r1-ben', content: 'hi ben' }),
    );
    expect(first).toMatchObject({
      code: undefined,
      body: { conversationID: 'si_r1-ann_r1-ben', seq: 1, duplicate: false },
    });

    const [ben] = await t.list('r1-ben');
    expect(ben).toMatchObject({
      conversationID: 'si_r1-ann_r1-ben',
      conversationType: 1,
      userID: 'r1-ann',
      groupID: '',
      unreadCount: 1,
      maxSeq: 1,
      hasReadSeq: 0,
      minSeq: 1,
      isHidden: false,
    });
    expect(latestMsgOf(ben)).toEqual({
      clientMsgID: 'r1-1',
      serverMsgID: '',
      sendID: 'r1-ann',
      recvID: 'r1-ben',
      groupID: '',
      sessionType: 1,
      contentType: 101,
      content: 'hi ben',
      sendTime: 1_700_000_000_000,
      seq: 1,
    });
    const [ann] = await t.list('r1-ann');
    expect(ann).toMatchObject({ userID: 'r1-ben', unreadCount: 0, hasReadSeq: 1, maxSeq: 1 });
    expect(await t.total('r1-ben')).toBe(1);
    expect(await t.total('r1-ann')).toBe(0);

    await t.awaitCallback('r1-ben', 'OnTotalUnreadMessageCountChanged', (total) => total === 1);

    // The reply goes the other way: ben's own message reads everything up to it.
    await t.request(
      'recordMessage',
      message({
        clientMsgID: 'r1-2',
        sendID: 'r1-ben',
        recvID: 'r1-ann',
        sendTime: 1_700_000_001_000,
      }),
    );
    expect((await t.list('r1-ben'))[0]).toMatchObject({ unreadCount: 0, hasReadSeq: 2 });
    expect((await t.list('r1-ann'))[0]).toMatchObject({ unreadCount: 1, hasReadSeq: 1 });
    expect(await t.total('r1-ben')).toBe(0);
    expect(await t.total('r1-ann')).toBe(1);

    const all = await t.callbacksUntilNow();
    for (const owner of ['r1-ann', 'r1-ben']) {
      const mine = callbacksFor(all, owner);
      expect(callbacksFor(mine, owner, 'OnNewConversation')).toHaveLength(1);
      expect(mine[0]?.name).toBe('OnNewConversation');
      expect(mine[0]?.data).toEqual([
        expect.objectContaining({ conversationID: 'si_r1-ann_r1-ben' }),
      ]);
      expect(callbacksFor(mine, owner, 'OnConversationChanged').length).toBeGreaterThanOrEqual(1);
      const versions = mine.map((c) => c.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    expect(
      callbacksFor(all, 'r1-ben', 'OnTotalUnreadMessageCountChanged').map((c) => c.data),
    ).toEqual([1, 0]);
    expect(
      callbacksFor(all, 'r1-ann', 'OnTotalUnreadMessageCountChanged').map((c) => c.data),
    ).toEqual([1]);
  });

  it('rule 1: a notification chat is its own conversation, sn_<a>_<b>', async () => {
    const reply = await t.request(
      'recordMessage',
      message({ clientMsgID: 'n1', sendID: 'r1n-system', recvID: 'r1n-bea', sessionType: 4 }),
    );
    expect(reply.body).toEqual({
      conversationID: 'sn_r1n-bea_r1n-system',
      seq: 1,
      duplicate: false,
    });
    expect(await t.list('r1n-bea')).toEqual([
      expect.objectContaining({
        conversationID: 'sn_r1n-bea_r1n-system',
        conversationType: 4,
        userID: 'r1n-system',
        unreadCount: 1,
      }),
    ]);
    await t.awaitCallback('r1n-bea', 'OnNewConversation', (data) =>
      data.some((c: any) => c.conversationID === 'sn_r1n-bea_r1n-system'),
    );
    expect(
      (
        await t.request('getConversationIDBySessionType', {
          userID: 'r1n-bea',
          sessionType: 4,
          sourceID: 'r1n-system',
        })
      ).body,
    ).toEqual({ conversationID: 'sn_r1n-bea_r1n-system' });
  });

  it('rule 12: latestMsg is the message with the highest seq, whatever its sendTime', async () => {
    const late = 1_700_000_900_000;
    const early = 1_700_000_100_000;
    await t.request(
      'recordMessage',
      message({
        clientMsgID: 'o1',
        sendID: 'r12-amy',
        recvID: 'r12-bo',
        sendTime: late,
        content: 'first',
      }),
    );
    await t.request(
      'recordMessage',
      message({
        clientMsgID: 'o2',
        sendID: 'r12-amy',
        recvID: 'r12-bo',
        sendTime: early,
        content: 'second',
      }),
    );
    for (const owner of ['r12-amy', 'r12-bo']) {
      const [item] = await t.list(owner);
      expect(item).toMatchObject({ maxSeq: 2, latestMsgSendTime: early });
      expect(latestMsgOf(item)).toMatchObject({
        seq: 2,
        content: 'second',
        sendTime: early,
      });
    }
    const changed = await t.awaitCallback('r12-bo', 'OnConversationChanged', (data) =>
      data.some((c: any) => c.maxSeq === 2),
    );
    expect(JSON.parse(changed.data[0].latestMsg)).toMatchObject({ seq: 2, content: 'second' });
  });

  it('rule 14: every query sees a command’s effect as soon as its reply arrives', async () => {
    for (let i = 1; i <= 20; i++) {
      const reply = await t.request(
        'recordMessage',
        message({
          clientMsgID: `ryw-${i}`,
          sendID: 'r14-al',
          recvID: 'r14-bi',
          sendTime: 1_700_000_000_000 + i,
        }),
      );
      expect(reply.body.seq).toBe(i);
      expect(await t.total('r14-bi')).toBe(i);
      const one = await t.request('getOneConversation', {
        userID: 'r14-bi',
        sessionType: 1,
        sourceID: 'r14-al',
      });
      expect(one.body.conversation).toMatchObject({ maxSeq: i, unreadCount: i });
    }
    await t.request(
      'recordMessage',
      message({
        clientMsgID: 'ryw-other',
        sendID: 'r14-cy',
        recvID: 'r14-bi',
        sendTime: 1_800_000_000_000,
      }),
    );
    expect((await t.list('r14-bi')).map((c) => c.conversationID)).toEqual([
      'si_r14-bi_r14-cy',
      'si_r14-al_r14-bi',
    ]);
    await t.request('pinConversation', {
      userID: 'r14-bi',
      conversationID: 'si_r14-al_r14-bi',
      isPinned: true,
    });
    expect((await t.list('r14-bi')).map((c) => c.conversationID)).toEqual([
      'si_r14-al_r14-bi',
      'si_r14-bi_r14-cy',
    ]);
    await t.request('markConversationMessageAsRead', {
      userID: 'r14-bi',
      conversationID: 'si_r14-al_r14-bi',
    });
    expect(await t.total('r14-bi')).toBe(1);
    await t.request('hideConversation', {
      userID: 'r14-bi',
      conversationID: 'si_r14-bi_r14-cy',
    });
    expect(await t.total('r14-bi')).toBe(0);
    expect((await t.list('r14-bi')).map((c) => c.conversationID)).toEqual(['si_r14-al_r14-bi']);
  });
});
