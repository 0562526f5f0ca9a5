import { describe, expect, it } from 'vitest';
import { expectTotal as expectTotalOf, sendMessage, useTestEngine } from './support/harness.ts';

describe('mark read (SPEC §3 rule 4)', () => {
  const t = useTestEngine();

  const send = (clientMsgID: string, fields: Parameters<typeof sendMessage>[2]) =>
    sendMessage(t, clientMsgID, fields);
  const expectTotal = (owner: string, total: number) => expectTotalOf(t, owner, total);

  it('reads by conversation, by peer, by group and all at once, dropping the total each time', async () => {
    const owner = 'r4-o';
    await t.request('joinGroup', { groupID: 'r4g', userIDs: [owner, 'r4-p'] });
    for (const id of ['p1', 'p2', 'p3']) await send(id, { sendID: 'r4-p', recvID: owner });
    for (const id of ['q1', 'q2']) await send(id, { sendID: 'r4-q', recvID: owner });
    await send('g1', { sendID: 'r4-p', groupID: 'r4g', atUserIDList: [owner] });
    await send('g2', { sendID: 'r4-p', groupID: 'r4g' });
    await expectTotal(owner, 7);

    const byConversation = await t.request('markConversationMessageAsRead', {
      userID: owner,
      conversationID: 'si_r4-o_r4-p',
    });
    expect(byConversation.body.conversation).toMatchObject({
      conversationID: 'si_r4-o_r4-p',
      hasReadSeq: 3,
      maxSeq: 3,
      unreadCount: 0,
    });
    await expectTotal(owner, 4);
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === 'si_r4-o_r4-p' && c.unreadCount === 0),
    );

    const byPeer = await t.request('markSingleMessageHasRead', {
      userID: owner,
      uid: 'r4-q',
    });
    expect(byPeer.body.conversation).toMatchObject({
      conversationID: 'si_r4-o_r4-q',
      hasReadSeq: 2,
      unreadCount: 0,
    });
    await expectTotal(owner, 2);

    const one = async () =>
      (
        await t.request('getOneConversation', {
          userID: owner,
          sessionType: 3,
          sourceID: 'r4g',
        })
      ).body.conversation;
    expect(await one()).toMatchObject({ unreadCount: 2, groupAtType: 1 });
    const byGroup = await t.request('markGroupMessageHasRead', {
      userID: owner,
      groupID: 'r4g',
    });
    expect(byGroup.body.conversation).toMatchObject({
      conversationID: 'sg_r4g',
      hasReadSeq: 2,
      unreadCount: 0,
      groupAtType: 0,
    });
    await expectTotal(owner, 0);
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some(
        (c: any) => c.conversationID === 'sg_r4g' && c.groupAtType === 0 && c.unreadCount === 0,
      ),
    );

    await send('p4', { sendID: 'r4-p', recvID: owner });
    await send('q3', { sendID: 'r4-q', recvID: owner });
    await send('g3', { sendID: 'r4-p', groupID: 'r4g', atUserIDList: ['AtAllTag'] });
    await expectTotal(owner, 3);
    expect(await t.request('markAllConversationMessageAsRead', { userID: owner })).toMatchObject({
      code: undefined,
      body: { total: 0 },
    });
    for (const item of await t.list(owner)) {
      expect(item).toMatchObject({ unreadCount: 0, groupAtType: 0 });
      expect(item.hasReadSeq).toBe(item.maxSeq);
    }
    await expectTotal(owner, 0);
    // The other side of each chat is untouched by the owner's reads.
    expect((await t.list('r4-q'))[0]).toMatchObject({ hasReadSeq: 3, maxSeq: 3 });
  });

  it('marks all read for an owner with nothing to read, answering the total', async () => {
    expect(
      (await t.request('markAllConversationMessageAsRead', { userID: 'r4-nobody' })).body,
    ).toEqual({
      total: 0,
    });
  });
});
