import { describe, expect, it } from 'vitest';
import { callbacksFor, conversationIDs, message, useTestEngine } from './support/harness.ts';

describe('pin, do not disturb, drafts and settings (SPEC §3 rules 5, 9, 10, 11)', () => {
  const t = useTestEngine();

  /** Gives `owner` one chat with each peer, the first peer's the oldest. */
  const chats = async (owner: string, peers: string[], unread = 1) => {
    for (const [i, peer] of peers.entries()) {
      for (let n = 0; n < unread; n++) {
        await t.request(
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
    const byTime = conversationIDs(await t.list(owner));
    expect(byTime).toEqual(peers.map((p) => `si_${owner}_${p}`).reverse());

    // Pin the eight oldest: no cap, and the pinned block keeps time order within itself.
    const pinned = byTime.slice(4);
    for (const conversationID of pinned) {
      const reply = await t.request('pinConversation', {
        userID: owner,
        conversationID,
        isPinned: true,
      });
      expect(reply.body.conversation).toMatchObject({ conversationID, isPinned: true });
    }
    expect(conversationIDs(await t.list(owner))).toEqual([...pinned, ...byTime.slice(0, 4)]);
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === pinned.at(-1) && c.isPinned),
    );

    const unpinned = pinned[0] as string;
    const reply = await t.request('pinConversation', {
      userID: owner,
      conversationID: unpinned,
      isPinned: false,
    });
    expect(reply.body.conversation).toMatchObject({ isPinned: false });
    expect(conversationIDs(await t.list(owner))).toEqual([
      ...pinned.slice(1),
      ...byTime.slice(0, 5),
    ]);
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.conversationID === unpinned && !c.isPinned),
    );
  });

  it('rule 9: a muted conversation still counts its unread but leaves the total', async () => {
    const owner = 'r9-o';
    await chats(owner, ['r9-a', 'r9-b', 'r9-c'], 2);
    expect(await t.total(owner)).toBe(6);

    const muted = await t.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: ['si_r9-a_r9-o', 'si_r9-b_r9-o'],
      opt: 2,
    });
    expect(muted.code).toBeUndefined();
    expect(muted.body.conversations).toHaveLength(2);
    for (const item of muted.body.conversations)
      expect(item).toMatchObject({ recvMsgOpt: 2, unreadCount: 2 });
    expect(await t.total(owner)).toBe(2);
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 2);

    // A message into a muted conversation raises its unread, not the total: no total callback.
    const before = callbacksFor(
      await t.callbacksUntilNow(),
      owner,
      'OnTotalUnreadMessageCountChanged',
    ).length;
    await t.request(
      'recordMessage',
      message({
        clientMsgID: 'r9-a-more',
        sendID: 'r9-a',
        recvID: owner,
        sendTime: 1_700_000_100_000,
      }),
    );
    const item = (await t.list(owner)).find((c) => c.conversationID === 'si_r9-a_r9-o');
    expect(item).toMatchObject({ recvMsgOpt: 2, unreadCount: 3 });
    expect(await t.total(owner)).toBe(2);
    const after = await t.callbacksUntilNow();
    expect(callbacksFor(after, owner, 'OnTotalUnreadMessageCountChanged')).toHaveLength(before);
    expect(
      callbacksFor(after, owner, 'OnConversationChanged').some((c) =>
        c.data.some((d: any) => d.conversationID === 'si_r9-a_r9-o' && d.unreadCount === 3),
      ),
    ).toBe(true);

    await t.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: ['si_r9-a_r9-o'],
      opt: 1,
    });
    expect(await t.total(owner)).toBe(2);
    await t.request('setConversationRecvMessageOpt', {
      userID: owner,
      conversationIDs: ['si_r9-a_r9-o', 'si_r9-b_r9-o'],
      opt: 0,
    });
    expect(await t.total(owner)).toBe(7);
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 7);
  });

  it('rule 10: a draft moves its conversation up, un-hides it, and "" clears it', async () => {
    const owner = 'r10-o';
    await chats(owner, ['r10-a', 'r10-b', 'r10-c']);
    expect(conversationIDs(await t.list(owner))).toEqual([
      'si_r10-c_r10-o',
      'si_r10-b_r10-o',
      'si_r10-a_r10-o',
    ]);

    const started = Date.now();
    const drafted = await t.request('setConversationDraft', {
      userID: owner,
      conversationID: 'si_r10-a_r10-o',
      draftText: 'half a thought',
    });
    expect(drafted.body.conversation).toMatchObject({ draftText: 'half a thought' });
    expect(drafted.body.conversation.draftTextTime).toBeGreaterThanOrEqual(started);
    expect(conversationIDs(await t.list(owner))).toEqual([
      'si_r10-a_r10-o',
      'si_r10-c_r10-o',
      'si_r10-b_r10-o',
    ]);
    await t.awaitCallback(owner, 'OnConversationChanged', (data) =>
      data.some((c: any) => c.draftText === 'half a thought'),
    );

    const cleared = await t.request('setConversationDraft', {
      userID: owner,
      conversationID: 'si_r10-a_r10-o',
      draftText: '',
    });
    expect(cleared.body.conversation).toMatchObject({ draftText: '', draftTextTime: 0 });
    expect(conversationIDs(await t.list(owner))).toEqual([
      'si_r10-c_r10-o',
      'si_r10-b_r10-o',
      'si_r10-a_r10-o',
    ]);

    await t.request('hideConversation', { userID: owner, conversationID: 'si_r10-b_r10-o' });
    expect(conversationIDs(await t.list(owner))).toEqual(['si_r10-c_r10-o', 'si_r10-a_r10-o']);
    await t.request('setConversationDraft', {
      userID: owner,
      conversationID: 'si_r10-b_r10-o',
      draftText: 'back again',
    });
    const listed = await t.list(owner);
    expect(conversationIDs(listed)).toEqual(['si_r10-b_r10-o', 'si_r10-c_r10-o', 'si_r10-a_r10-o']);
    expect(listed[0]).toMatchObject({ isHidden: false, draftText: 'back again', unreadCount: 1 });
    await t.awaitCallback(owner, 'OnNewConversation', (data) =>
      data.some((c: any) => c.conversationID === 'si_r10-b_r10-o'),
    );
  });

  it('rule 11: setConversation sets every field of the rule in one command', async () => {
    const owner = 'r11-o';
    await chats(owner, ['r11-a'], 2);
    const events = await t.countEvents();
    const fields = {
      isPinned: true,
      recvMsgOpt: 2,
      groupAtType: 4,
      isPrivateChat: true,
      burnDuration: 30,
      attachedInfo: '{"tag":"work"}',
      ex: 'extra',
    } as const;
    const reply = await t.request('setConversation', {
      userID: owner,
      conversationID: 'si_r11-a_r11-o',
      ...fields,
    });
    expect(reply.code).toBeUndefined();
    expect(reply.body.conversation).toMatchObject({ ...fields, unreadCount: 2 });
    expect(await t.countEvents()).toBe(events + 1);
    expect((await t.list(owner))[0]).toMatchObject(fields);
    expect(await t.total(owner)).toBe(0);
    const changed = await t.awaitCallback(
      owner,
      'OnConversationChanged',
      (data) => data[0]?.ex === 'extra',
    );
    expect(changed.data[0]).toMatchObject(fields);
    expect(changed.version).toBe(reply.body.conversation.version);
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (total) => total === 0);

    // Fields left out stay as they are.
    const partial = await t.request('setConversation', {
      userID: owner,
      conversationID: 'si_r11-a_r11-o',
      ex: 'other',
    });
    expect(partial.body.conversation).toMatchObject({ ...fields, ex: 'other' });
  });
});
