import { describe, expect, it } from 'vitest';
import {
  callbacksFor,
  conversationIDs,
  latestMsgOf,
  message,
  useTestEngine,
} from './support/harness.ts';

describe('delete, hide and clear (SPEC §3 rules 6, 7, 8)', () => {
  const t = useTestEngine();

  const send = (
    clientMsgID: string,
    sendID: string,
    recvID: string,
    sendTime = 1_700_000_000_000,
  ) =>
    t.request(
      'recordMessage',
      message({ clientMsgID, sendID, recvID, sendTime, content: clientMsgID }),
    );
  const one = async (userID: string, peer: string) =>
    (await t.request('getOneConversation', { userID, sessionType: 1, sourceID: peer })).body
      .conversation;

  it('rule 6: delete clears the owner’s history only; a later message brings back just the new ones', async () => {
    const [owner, peer, id] = ['r6-o', 'r6-p', 'si_r6-o_r6-p'];
    await send('d1', peer, owner);
    await send('d2', peer, owner);
    await t.request('setConversation', {
      userID: owner,
      conversationID: id,
      isPinned: true,
      recvMsgOpt: 2,
    });
    await t.request('setConversationDraft', {
      userID: owner,
      conversationID: id,
      draftText: 'x',
    });
    await t.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: [id],
      opt: 0,
    });
    const peerBefore = await one(peer, owner);
    expect(await t.total(owner)).toBe(2);

    const deleted = await t.request('deleteConversation', {
      userID: owner,
      conversationID: id,
    });
    expect(deleted).toEqual({ code: undefined, error: undefined, body: {} });
    expect(await t.list(owner)).toEqual([]);
    expect(await t.total(owner)).toBe(0);
    expect(await one(owner, peer)).toMatchObject({
      isHidden: true,
      minSeq: 3,
      unreadCount: 0,
      latestMsg: '',
      draftText: '',
      isPinned: false,
      recvMsgOpt: 0,
    });
    const left = await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === id && c.isHidden),
    );
    expect(left.data[0]).toMatchObject({ isHidden: true, unreadCount: 0 });
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 0);
    // The other member is untouched.
    expect(await one(peer, owner)).toEqual(peerBefore);
    expect(conversationIDs(await t.list(peer))).toEqual([id]);

    await t.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: [id],
      opt: 2,
    });
    await send('d3', peer, owner, 1_700_000_500_000);
    const back = await t.list(owner);
    expect(back).toEqual([
      expect.objectContaining({
        conversationID: id,
        isHidden: false,
        minSeq: 3,
        maxSeq: 3,
        unreadCount: 1,
        recvMsgOpt: 2,
        isPinned: false,
        latestMsgSendTime: 1_700_000_500_000,
      }),
    ]);
    expect(latestMsgOf(back[0])).toMatchObject({ seq: 3, clientMsgID: 'd3' });
    const returned = await t.awaitCallback(owner, 'OnNewConversation', (data) =>
      data.some((c: any) => c.conversationID === id && c.maxSeq === 3),
    );
    expect(returned.data[0]).toMatchObject({ unreadCount: 1, minSeq: 3 });
    expect(callbacksFor(t.callbacks.received, owner, 'OnNewConversation')).toHaveLength(2);
  });

  it('rule 7: hide keeps history and unread out of the total; the next message brings them back', async () => {
    const [owner, peer, id] = ['r7-o', 'r7-p', 'si_r7-o_r7-p'];
    await send('h1', peer, owner);
    await send('h2', peer, owner);
    await send('other', 'r7-q', owner);
    expect(await t.total(owner)).toBe(3);

    expect(
      (await t.request('hideConversation', { userID: owner, conversationID: id })).body,
    ).toEqual({});
    expect(conversationIDs(await t.list(owner))).toEqual(['si_r7-o_r7-q']);
    expect(await t.total(owner)).toBe(1);
    expect(await one(owner, peer)).toMatchObject({ isHidden: true, unreadCount: 2, minSeq: 1 });
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === id && c.isHidden),
    );
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 1);

    await send('h3', peer, owner, 1_700_000_500_000);
    const back = (await t.list(owner)).find((c) => c.conversationID === id);
    expect(back).toMatchObject({ isHidden: false, unreadCount: 3, minSeq: 1, maxSeq: 3 });
    expect(await t.total(owner)).toBe(4);
    const returned = await t.awaitCallback(owner, 'OnNewConversation', (data) =>
      data.some((c: any) => c.conversationID === id && c.maxSeq === 3),
    );
    expect(returned.data[0]).toMatchObject({ unreadCount: 3 });
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 4);
  });

  it('rule 8: clear keeps the conversation at its place with no latest message and no unread', async () => {
    const owner = 'r8-o';
    await send('c-a', 'r8-a', owner, 1_700_000_001_000);
    await send('c-b1', 'r8-b', owner, 1_700_000_002_000);
    await send('c-b2', 'r8-b', owner, 1_700_000_002_500);
    await send('c-c', 'r8-c', owner, 1_700_000_003_000);
    const order = conversationIDs(await t.list(owner));
    expect(order).toEqual(['si_r8-c_r8-o', 'si_r8-b_r8-o', 'si_r8-a_r8-o']);
    expect(await t.total(owner)).toBe(4);

    const cleared = await t.request('clearConversationAndDeleteAllMsg', {
      userID: owner,
      conversationID: 'si_r8-b_r8-o',
    });
    expect(cleared.body.conversation).toMatchObject({
      conversationID: 'si_r8-b_r8-o',
      latestMsg: '',
      unreadCount: 0,
      minSeq: 3,
      maxSeq: 2,
      isHidden: false,
    });
    expect(conversationIDs(await t.list(owner))).toEqual(order);
    expect(await t.total(owner)).toBe(2);
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === 'si_r8-b_r8-o' && c.latestMsg === ''),
    );
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 2);
    // The peer's history is its own.
    expect(await one('r8-b', owner)).toMatchObject({ minSeq: 1, maxSeq: 2 });

    await send('c-b3', 'r8-b', owner, 1_700_000_004_000);
    const [top] = await t.list(owner);
    expect(top).toMatchObject({
      conversationID: 'si_r8-b_r8-o',
      unreadCount: 1,
      minSeq: 3,
      maxSeq: 3,
    });
    expect(latestMsgOf(top)).toMatchObject({ seq: 3, clientMsgID: 'c-b3' });
    const owners = callbacksFor(await t.callbacksUntilNow(), owner, 'OnNewConversation');
    expect(owners.filter((c) => c.data[0].conversationID === 'si_r8-b_r8-o')).toHaveLength(1);
  });
});
