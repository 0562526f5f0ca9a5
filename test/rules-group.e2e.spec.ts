import { describe, expect, it } from 'vitest';
import {
  callbacksFor,
  latestMsgOf,
  message,
  type TestEngine,
  useTestEngine,
} from './support/harness.ts';

const conversation = async (t: TestEngine, userID: string, groupID: string) =>
  (await t.request('getOneConversation', { userID, sessionType: 3, sourceID: groupID })).body
    .conversation;

const post = (
  t: TestEngine,
  clientMsgID: string,
  sendID: string,
  groupID: string,
  atUserIDList?: string[],
) =>
  t.request(
    'recordMessage',
    message({
      clientMsgID,
      sendID,
      groupID,
      sessionType: 3,
      ...(atUserIDList ? { atUserIDList } : {}),
    }),
  );

describe('group chats (SPEC §3 rules 2 and 3)', () => {
  const t = useTestEngine();

  it('rule 2: members see the group from their first visible message; joining later hides what came before', async () => {
    expect(
      await t.request('joinGroup', { groupID: 'r2g', userIDs: ['r2-a', 'r2-b', 'r2-c'] }),
    ).toEqual({ code: undefined, error: undefined, body: {} });

    // Joined, nothing visible yet: the conversation exists but is not listed, and nobody is told.
    expect(await conversation(t, 'r2-a', 'r2g')).toMatchObject({
      conversationID: 'sg_r2g',
      conversationType: 3,
      groupID: 'r2g',
      userID: '',
      maxSeq: 0,
      minSeq: 1,
      unreadCount: 0,
      latestMsg: '',
      isNotInGroup: false,
    });
    expect(await t.list('r2-a')).toEqual([]);
    expect(callbacksFor(await t.callbacksUntilNow(), 'r2-a')).toEqual([]);

    expect((await post(t, 'g1', 'r2-a', 'r2g')).body).toEqual({
      conversationID: 'sg_r2g',
      seq: 1,
      duplicate: false,
    });
    for (const [owner, unread] of [
      ['r2-a', 0],
      ['r2-b', 1],
      ['r2-c', 1],
    ] as const) {
      expect(await t.list(owner)).toEqual([
        expect.objectContaining({ conversationID: 'sg_r2g', maxSeq: 1, unreadCount: unread }),
      ]);
      expect(await t.total(owner)).toBe(unread);
      await t.awaitCallback(owner, 'OnNewConversation', (data) =>
        data.some((c: any) => c.conversationID === 'sg_r2g'),
      );
    }

    // A late joiner sees only what comes after the group's maxSeq at join time.
    await t.request('joinGroup', { groupID: 'r2g', userIDs: ['r2-d'] });
    expect(await conversation(t, 'r2-d', 'r2g')).toMatchObject({
      maxSeq: 1,
      minSeq: 2,
      unreadCount: 0,
      latestMsg: '',
    });
    expect(await t.list('r2-d')).toEqual([]);
    await post(t, 'g2', 'r2-c', 'r2g');
    const [d] = await t.list('r2-d');
    expect(d).toMatchObject({ conversationID: 'sg_r2g', maxSeq: 2, minSeq: 2, unreadCount: 1 });
    expect(latestMsgOf(d)).toMatchObject({ seq: 2, clientMsgID: 'g2' });
    const dNew = await t.awaitCallback('r2-d', 'OnNewConversation');
    expect(dNew.data[0]).toMatchObject({ conversationID: 'sg_r2g', unreadCount: 1 });
    expect((await t.list('r2-b'))[0]).toMatchObject({ unreadCount: 2 });
  });

  it('rule 2: leaving freezes the member’s view; rejoining lifts it without what was sent meanwhile', async () => {
    await t.request('joinGroup', { groupID: 'r2l', userIDs: ['r2l-a', 'r2l-b'] });
    await post(t, 'l1', 'r2l-a', 'r2l');
    await post(t, 'l2', 'r2l-a', 'r2l');
    expect(await t.total('r2l-b')).toBe(2);

    expect((await t.request('leaveGroup', { groupID: 'r2l', userIDs: ['r2l-b'] })).body).toEqual(
      {},
    );
    const left = (await t.list('r2l-b'))[0];
    expect(left).toMatchObject({
      conversationID: 'sg_r2l',
      isNotInGroup: true,
      maxSeq: 2,
      unreadCount: 2,
    });
    await t.awaitCallback('r2l-b', 'OnConversationChanged', (data) => data[0]?.isNotInGroup);
    const seenBefore = callbacksFor(await t.callbacksUntilNow(), 'r2l-b').length;

    await post(t, 'l3', 'r2l-a', 'r2l', ['r2l-b', 'AtAllTag']);
    await post(t, 'l4', 'r2l-a', 'r2l');
    expect((await t.list('r2l-b'))[0]).toMatchObject({
      isNotInGroup: true,
      maxSeq: 2,
      unreadCount: 2,
      groupAtType: 0,
    });
    expect(latestMsgOf((await t.list('r2l-b'))[0])).toMatchObject({ seq: 2 });
    expect(await t.total('r2l-b')).toBe(2);
    // Messages sent while away change nothing for the member, so nothing is published to them.
    expect(callbacksFor(await t.callbacksUntilNow(), 'r2l-b')).toHaveLength(seenBefore);

    await t.request('markGroupMessageHasRead', { userID: 'r2l-b', groupID: 'r2l' });
    await t.request('joinGroup', { groupID: 'r2l', userIDs: ['r2l-b'] });
    expect(await conversation(t, 'r2l-b', 'r2l')).toMatchObject({
      isNotInGroup: false,
      minSeq: 5,
      unreadCount: 0,
    });
    await post(t, 'l5', 'r2l-a', 'r2l');
    const back = await conversation(t, 'r2l-b', 'r2l');
    expect(back).toMatchObject({ isNotInGroup: false, maxSeq: 5, unreadCount: 1 });
    expect(latestMsgOf(back)).toMatchObject({ seq: 5, clientMsgID: 'l5' });
    expect(await t.total('r2l-b')).toBe(1);
    await t.awaitCallback('r2l-b', 'OnTotalUnreadMessageCountChanged', (total) => total === 1);
  });

  it('rule 3: @me and @all accumulate into 3, in one message or several, and reading resets them', async () => {
    await t.request('joinGroup', { groupID: 'r3g', userIDs: ['r3-a', 'r3-b', 'r3-c'] });
    const atType = async (owner: string) => (await conversation(t, owner, 'r3g')).groupAtType;

    await post(t, 'm1', 'r3-a', 'r3g', ['r3-b']);
    expect([await atType('r3-a'), await atType('r3-b'), await atType('r3-c')]).toEqual([0, 1, 0]);
    await post(t, 'm2', 'r3-a', 'r3g');
    expect(await atType('r3-b')).toBe(1);
    await post(t, 'm3', 'r3-a', 'r3g', ['AtAllTag']);
    // The sender is not mentioned by its own @all.
    expect([await atType('r3-a'), await atType('r3-b'), await atType('r3-c')]).toEqual([0, 3, 2]);
    await t.awaitCallback('r3-b', 'OnConversationChanged', (data) => data[0]?.groupAtType === 3);

    await t.request('markGroupMessageHasRead', { userID: 'r3-b', groupID: 'r3g' });
    expect(await atType('r3-b')).toBe(0);
    expect(await atType('r3-c')).toBe(2);
    await t.awaitCallback(
      'r3-b',
      'OnConversationChanged',
      (data) => data[0]?.groupAtType === 0 && data[0]?.unreadCount === 0,
    );

    await post(t, 'm4', 'r3-a', 'r3g', ['r3-b', 'AtAllTag']);
    expect([await atType('r3-a'), await atType('r3-b'), await atType('r3-c')]).toEqual([0, 3, 2]);
    await t.request('markConversationMessageAsRead', {
      userID: 'r3-c',
      conversationID: 'sg_r3g',
    });
    expect(await atType('r3-c')).toBe(0);
    expect(await atType('r3-b')).toBe(3);
  });
});
