import { describe, expect, it } from 'vitest';
import {
  callbacksFor,
  conversationIDs,
  expectTotal as expectTotalOf,
  sendMessage,
  useTestEngine,
} from './support/harness.ts';

describe('mark as unread, read up to a position, hide all (SPEC §8.1 rules 18–20)', () => {
  const t = useTestEngine();

  const send = (clientMsgID: string, fields: Parameters<typeof sendMessage>[2]) =>
    sendMessage(t, clientMsgID, fields);
  const expectTotal = (owner: string, total: number) => expectTotalOf(t, owner, total);
  const totalCallbacks = async (owner: string) =>
    callbacksFor(await t.callbacksUntilNow(), owner, 'OnTotalUnreadMessageCountChanged');

  it('rule 18: a marked conversation counts as at least 1 until any read or the owner’s message', async () => {
    const owner = 'm18-o';
    const chat = 'si_m18-o_m18-p';
    for (const id of ['1', '2', '3']) await send(id, { sendID: 'm18-p', recvID: owner });
    await t.request('markConversationMessageAsRead', { userID: owner, conversationID: chat });
    await expectTotal(owner, 0);

    const marked = await t.request('markConversationAsUnread', {
      userID: owner,
      conversationID: chat,
    });
    expect(marked.body.conversation).toMatchObject({
      conversationID: chat,
      isMarkedUnread: true,
      unreadCount: 0,
      hasReadSeq: 3,
      maxSeq: 3,
    });
    await expectTotal(owner, 1);
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      (data as any[]).some((c) => c.conversationID === chat && c.isMarkedUnread),
    );
    expect((await t.list(owner))[0]).toMatchObject({ conversationID: chat, isMarkedUnread: true });

    // A message from the peer is the first unread: the marked conversation still counts 1, so
    // the total does not move and no total callback is published.
    const before = (await totalCallbacks(owner)).length;
    await send('4', { sendID: 'm18-p', recvID: owner });
    expect(await t.total(owner)).toBe(1);
    expect(await totalCallbacks(owner)).toHaveLength(before);

    // From a message: read back to just before it, the one way hasReadSeq moves back.
    const back = await t.request('markConversationAsUnread', {
      userID: owner,
      conversationID: chat,
      fromSeq: 2,
    });
    expect(back.body.conversation).toMatchObject({
      hasReadSeq: 1,
      unreadCount: 3,
      isMarkedUnread: false,
    });
    await expectTotal(owner, 3);
    const refused = await t.request('markConversationAsUnread', {
      userID: owner,
      conversationID: chat,
      fromSeq: 5,
    });
    expect(refused.code).toBe(400);
    expect(refused.error).toMatch(
      /^fromSeq: must be between the conversation's minSeq 1 and maxSeq 4/,
    );

    // The owner's own message reads the conversation, and clears a mark.
    await t.request('markConversationAsUnread', { userID: owner, conversationID: chat });
    await send('5', { sendID: owner, recvID: 'm18-p' });
    expect((await t.list(owner))[0]).toMatchObject({ isMarkedUnread: false, unreadCount: 0 });
    await expectTotal(owner, 0);
  });

  it('rule 18: a marked group conversation absorbs the first group message into its 1', async () => {
    const owner = 'm18g-o';
    await t.request('joinGroup', { groupID: 'm18g', userIDs: [owner, 'm18g-p', 'm18g-q'] });
    await send('g1', { sendID: 'm18g-p', groupID: 'm18g' });
    await t.request('markGroupMessageHasRead', { userID: owner, groupID: 'm18g' });
    await t.request('markConversationAsUnread', { userID: owner, conversationID: 'sg_m18g' });
    await expectTotal(owner, 1);
    const before = (await totalCallbacks(owner)).length;

    await send('g2', { sendID: 'm18g-q', groupID: 'm18g' });
    expect(await t.total(owner)).toBe(1);
    await send('g3', { sendID: 'm18g-q', groupID: 'm18g' });
    await expectTotal(owner, 2);
    expect(await totalCallbacks(owner)).toHaveLength(before + 1);
    // The other member's view of the group is untouched by the owner's mark.
    expect(await t.total('m18g-p')).toBe(2);
    expect((await t.request('markAllConversationMessageAsRead', { userID: owner })).body).toEqual({
      total: 0,
    });
    expect((await t.list(owner))[0]).toMatchObject({ isMarkedUnread: false, unreadCount: 0 });
  });

  it('rule 19: reads up to a position, resetting @ flags only at the end', async () => {
    const owner = 'm19-o';
    await t.request('joinGroup', { groupID: 'm19', userIDs: [owner, 'm19-p'] });
    for (const seq of [1, 2, 3, 4, 5])
      await send(`g${seq}`, {
        sendID: 'm19-p',
        groupID: 'm19',
        ...(seq === 4 ? { atUserIDList: [owner] } : {}),
      });
    await expectTotal(owner, 5);
    const read = (upToSeq: number) =>
      t.request('markConversationMessageAsRead', {
        userID: owner,
        conversationID: 'sg_m19',
        upToSeq,
      });

    expect((await read(4)).body.conversation).toMatchObject({
      hasReadSeq: 4,
      unreadCount: 1,
      groupAtType: 1,
    });
    await expectTotal(owner, 1);
    // Never back: an earlier position changes nothing.
    expect((await read(2)).body.conversation).toMatchObject({ hasReadSeq: 4, unreadCount: 1 });
    // Past maxSeq reads to the end, and the @ flag goes.
    expect((await read(99)).body.conversation).toMatchObject({
      hasReadSeq: 5,
      unreadCount: 0,
      groupAtType: 0,
    });
    await expectTotal(owner, 0);
  });

  it('rule 20: hides every listed conversation; the next message brings one back with its unread', async () => {
    const owner = 'm20-o';
    await send('a1', { sendID: 'm20-a', recvID: owner });
    await send('a2', { sendID: 'm20-a', recvID: owner });
    await send('b1', { sendID: 'm20-b', recvID: owner });
    await t.request('joinGroup', { groupID: 'm20', userIDs: [owner, 'm20-a'] });
    await send('g1', { sendID: 'm20-a', groupID: 'm20' });
    await t.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: ['si_m20-b_m20-o'],
      opt: 2,
    });
    await expectTotal(owner, 3);
    expect(await t.list(owner)).toHaveLength(3);

    expect(await t.request('hideAllConversations', { userID: owner })).toMatchObject({
      code: undefined,
      body: { total: 0 },
    });
    expect(await t.list(owner)).toEqual([]);
    await expectTotal(owner, 0);
    for (const id of ['si_m20-a_m20-o', 'si_m20-b_m20-o', 'sg_m20'])
      await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
        (data as any[]).some((c) => c.conversationID === id && c.isHidden),
      );
    // The peer's side is untouched.
    expect(conversationIDs(await t.list('m20-a'))).toEqual(['sg_m20', 'si_m20-a_m20-o']);

    await send('a3', { sendID: 'm20-a', recvID: owner });
    expect(await t.list(owner)).toMatchObject([
      { conversationID: 'si_m20-a_m20-o', unreadCount: 3, isHidden: false },
    ]);
    await expectTotal(owner, 3);
    await t.awaitCallback(owner, 'OnNewConversation', (data) =>
      (data as any[]).some((c) => c.conversationID === 'si_m20-a_m20-o' && c.unreadCount === 3),
    );
  });
});
