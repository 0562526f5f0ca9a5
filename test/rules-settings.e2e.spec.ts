import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awaitCallback,
  callbacksFor,
  callbacksUntilNow,
  conversationIDs,
  countEvents,
  listOf,
  message,
  startTestEngine,
  type TestEngine,
  totalOf,
} from './support/harness.ts';

describe('pin, do not disturb, drafts and settings (SPEC §3 rules 5, 9, 10, 11)', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine();
  });
  afterAll(() => t.stop());

  /** Gives `owner` one chat with each peer, the first peer's the oldest. */
  const chats = async (owner: string, peers: string[], unread = 1) => {
    for (const [i, peer] of peers.entries()) {
      for (let n = 0; n < unread; n++) {
        await t.client.request(
          'recordMessage',
          message({
            clientMsgID: `${peer}-${n}`,
            sendID: peer,
            recvID: owner,
            sendTime: 1_700_000_000_000 + i * 1000 + n,
          }),
        );
      }
    }
  };

  it('rule 5: pinned conversations form a block at the top, as many as the owner likes', async () => {
    const owner = 'r5-o';
    const peers = Array.from({ length: 12 }, (_, i) => `r5-p${String(i).padStart(2, '0')}`);
    await chats(owner, peers);
    const byTime = conversationIDs(await listOf(t, owner));
    expect(byTime).toEqual(peers.map((p) => `si_${owner}_${p}`).reverse());

    // Pin the eight oldest: no cap, and the pinned block keeps time order within itself.
    const pinned = byTime.slice(4);
    for (const conversationID of pinned) {
      const reply = await t.client.request('pinConversation', {
        userID: owner,
        conversationID,
        isPinned: true,
      });
      expect(reply.body.conversation).toMatchObject({ conversationID, isPinned: true });
    }
    expect(conversationIDs(await listOf(t, owner))).toEqual([...pinned, ...byTime.slice(0, 4)]);
    await awaitCallback(t, owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === pinned.at(-1) && c.isPinned),
    );

    const unpinned = pinned[0] as string;
    const reply = await t.client.request('pinConversation', {
      userID: owner,
      conversationID: unpinned,
      isPinned: false,
    });
    expect(reply.body.conversation).toMatchObject({ isPinned: false });
    expect(conversationIDs(await listOf(t, owner))).toEqual([
      ...pinned.slice(1),
      ...byTime.slice(0, 5),
    ]);
    await awaitCallback(t, owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === unpinned && !c.isPinned),
    );
  });

  it('rule 9: a muted conversation still counts its unread but leaves the total', async () => {
    const owner = 'r9-o';
    await chats(owner, ['r9-a', 'r9-b', 'r9-c'], 2);
    expect(await totalOf(t, owner)).toBe(6);

    const muted = await t.client.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: ['si_r9-a_r9-o', 'si_r9-b_r9-o'],
      opt: 2,
    });
    expect(muted.code).toBeUndefined();
    expect(muted.body.conversations).toHaveLength(2);
    for (const item of muted.body.conversations)
      expect(item).toMatchObject({ recvMsgOpt: 2, unreadCount: 2 });
    expect(await totalOf(t, owner)).toBe(2);
    await awaitCallback(t, owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 2);

    // A message into a muted conversation raises its unread, not the total: no total callback.
    const before = callbacksFor(
      await callbacksUntilNow(t),
      owner,
      'OnTotalUnreadMessageCountChanged',
    ).length;
    await t.client.request(
      'recordMessage',
      message({
        clientMsgID: 'r9-a-more',
        sendID: 'r9-a',
        recvID: owner,
        sendTime: 1_700_000_100_000,
      }),
    );
    const item = (await listOf(t, owner)).find((c) => c.conversationID === 'si_r9-a_r9-o');
    expect(item).toMatchObject({ recvMsgOpt: 2, unreadCount: 3 });
    expect(await totalOf(t, owner)).toBe(2);
    const after = await callbacksUntilNow(t);
    expect(callbacksFor(after, owner, 'OnTotalUnreadMessageCountChanged')).toHaveLength(before);
    expect(
      callbacksFor(after, owner, 'OnConversationChanged').some((c) =>
        c.data.some((d: any) => d.conversationID === 'si_r9-a_r9-o' && d.unreadCount === 3),
      ),
    ).toBe(true);

    await t.client.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: ['si_r9-a_r9-o'],
      opt: 1,
    });
    expect(await totalOf(t, owner)).toBe(2);
    await t.client.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: ['si_r9-a_r9-o', 'si_r9-b_r9-o'],
      opt: 0,
    });
    expect(await totalOf(t, owner)).toBe(7);
    await awaitCallback(t, owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 7);
  });

  it('rule 10: a draft moves its conversation up, un-hides it, and "" clears it', async () => {
    const owner = 'r10-o';
    await chats(owner, ['r10-a', 'r10-b', 'r10-c']);
    expect(conversationIDs(await listOf(t, owner))).toEqual([
      'si_r10-c_r10-o',
      'si_r10-b_r10-o',
      'si_r10-a_r10-o',
    ]);

    const started = Date.now();
    const drafted = await t.client.request('setConversationDraft', {
      userID: owner,
      conversationID: 'si_r10-a_r10-o',
      draftText: 'half a thought',
    });
    expect(drafted.body.conversation).toMatchObject({ draftText: 'half a thought' });
    expect(drafted.body.conversation.draftTextTime).toBeGreaterThanOrEqual(started);
    expect(conversationIDs(await listOf(t, owner))).toEqual([
      'si_r10-a_r10-o',
      'si_r10-c_r10-o',
      'si_r10-b_r10-o',
    ]);
    await awaitCallback(t, owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.draftText === 'half a thought'),
    );

    const cleared = await t.client.request('setConversationDraft', {
      userID: owner,
      conversationID: 'si_r10-a_r10-o',
      draftText: '',
    });
    expect(cleared.body.conversation).toMatchObject({ draftText: '', draftTextTime: 0 });
    expect(conversationIDs(await listOf(t, owner))).toEqual([
      'si_r10-c_r10-o',
      'si_r10-b_r10-o',
      'si_r10-a_r10-o',
    ]);

    await t.client.request('hideConversation', { userID: owner, conversationID: 'si_r10-b_r10-o' });
    expect(conversationIDs(await listOf(t, owner))).toEqual(['si_r10-c_r10-o', 'si_r10-a_r10-o']);
    await t.client.request('setConversationDraft', {
      userID: owner,
      conversationID: 'si_r10-b_r10-o',
      draftText: 'back again',
    });
    const listed = await listOf(t, owner);
    expect(conversationIDs(listed)).toEqual(['si_r10-b_r10-o', 'si_r10-c_r10-o', 'si_r10-a_r10-o']);
    expect(listed[0]).toMatchObject({ isHidden: false, draftText: 'back again', unreadCount: 1 });
    await awaitCallback(t, owner, 'OnNewConversation', (data) =>
      data.some((c: any) => c.conversationID === 'si_r10-b_r10-o'),
    );
  });

  it('rule 11: setConversation sets every field of the rule in one command', async () => {
    const owner = 'r11-o';
    await chats(owner, ['r11-a'], 2);
    const events = await countEvents(t);
    const fields = {
      isPinned: true,
      recvMsgOpt: 2,
      groupAtType: 4,
      isPrivateChat: true,
      burnDuration: 30,
      attachedInfo: '{"tag":"work"}',
      ex: 'extra',
    };
    const reply = await t.client.request('setConversation', {
      userID: owner,
      conversationID: 'si_r11-a_r11-o',
      ...fields,
    });
    expect(reply.code).toBeUndefined();
    expect(reply.body.conversation).toMatchObject({ ...fields, unreadCount: 2 });
    expect(await countEvents(t)).toBe(events + 1);
    expect((await listOf(t, owner))[0]).toMatchObject(fields);
    expect(await totalOf(t, owner)).toBe(0);
    const changed = await awaitCallback(
      t,
      owner,
      'OnConversationChanged',
      (data) => data[0]?.ex === 'extra',
    );
    expect(changed.data[0]).toMatchObject(fields);
    expect(changed.version).toBe(reply.body.conversation.version);
    await awaitCallback(t, owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 0);

    // Fields left out stay as they are.
    const partial = await t.client.request('setConversation', {
      userID: owner,
      conversationID: 'si_r11-a_r11-o',
      ex: 'other',
    });
    expect(partial.body.conversation).toMatchObject({ ...fields, ex: 'other' });
  });
});
