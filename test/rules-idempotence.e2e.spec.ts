import { describe, expect, it } from 'vitest';
import { callbacksFor, latestMsgOf, message, useTestEngine } from './support/harness.ts';

describe('idempotence and unknown conversations (SPEC §3 rules 13 and 15)', () => {
  const t = useTestEngine();

  /** An owner with one single chat (two unread) and one group chat (one unread with @me). */
  const owner = async (name: string) => {
    await t.request('joinGroup', { groupID: `${name}-g`, userIDs: [name, `${name}-p`] });
    for (const clientMsgID of ['1', '2']) {
      await t.request('recordMessage', message({ clientMsgID, sendID: `${name}-p`, recvID: name }));
    }
    await t.request(
      'recordMessage',
      message({
        clientMsgID: 'g',
        sendID: `${name}-p`,
        groupID: `${name}-g`,
        atUserIDList: [name],
      }),
    );
    return { single: `si_${name}_${name}-p`, group: `sg_${name}-g` };
  };

  type Case = [string, (o: string, ids: { single: string; group: string }) => [string, unknown]];
  const commands: Case[] = [
    [
      'markConversationMessageAsRead',
      (o, { single }) => ['markConversationMessageAsRead', { userID: o, conversationID: single }],
    ],
    ['markSingleMessageHasRead', (o) => ['markSingleMessageHasRead', { userID: o, uid: `${o}-p` }]],
    [
      'markGroupMessageHasRead',
      (o) => ['markGroupMessageHasRead', { userID: o, groupID: `${o}-g` }],
    ],
    [
      'markAllConversationMessageAsRead',
      (o) => ['markAllConversationMessageAsRead', { userID: o }],
    ],
    [
      'pinConversation',
      (o, { single }) => ['pinConversation', { userID: o, conversationID: single, isPinned: true }],
    ],
    [
      'deleteConversation',
      (o, { single }) => ['deleteConversation', { userID: o, conversationID: single }],
    ],
    [
      'hideConversation',
      (o, { group }) => ['hideConversation', { userID: o, conversationID: group }],
    ],
    [
      'clearConversationAndDeleteAllMsg',
      (o, { group }) => ['clearConversationAndDeleteAllMsg', { userID: o, conversationID: group }],
    ],
    [
      'setConversationDraft',
      (o, { single }) => [
        'setConversationDraft',
        { userID: o, conversationID: single, draftText: 'later' },
      ],
    ],
    [
      'setConversationRecvMessageOpt',
      (o, { single, group }) => [
        'setConversationRecvMessageOpt',
        { userID: o, conversationIDs: [single, group], opt: 1 },
      ],
    ],
    [
      'setConversation',
      (o, { group }) => [
        'setConversation',
        {
          userID: o,
          conversationID: group,
          isPrivateChat: true,
          burnDuration: 10,
          ex: 'e',
          groupAtType: 4,
        },
      ],
    ],
    [
      'markConversationMessageAsRead upToSeq',
      (o, { single }) => [
        'markConversationMessageAsRead',
        { userID: o, conversationID: single, upToSeq: 1 },
      ],
    ],
    [
      'markConversationAsUnread',
      (o, { group }) => ['markConversationAsUnread', { userID: o, conversationID: group }],
    ],
    [
      'markConversationAsUnread fromSeq',
      (o, { single }) => [
        'markConversationAsUnread',
        { userID: o, conversationID: single, fromSeq: 1 },
      ],
    ],
    ['hideAllConversations', (o) => ['hideAllConversations', { userID: o }]],
    [
      'createConversationGroup',
      (o, { single, group }) => [
        'createConversationGroup',
        { userID: o, conversationGroupID: 'f', name: 'F', conversationIDs: [single, group] },
      ],
    ],
    [
      'deleteConversationGroup',
      (o) => ['deleteConversationGroup', { userID: o, conversationGroupID: 'never-made' }],
    ],
    ['joinGroup', (o) => ['joinGroup', { groupID: `${o}-g`, userIDs: [o, `${o}-p`] }]],
    ['leaveGroup', (o) => ['leaveGroup', { groupID: `${o}-g`, userIDs: [o] }]],
  ];

  it.each(commands)(
    'rule 13: %s repeated appends nothing, publishes nothing and answers the same',
    async (title, make) => {
      const name = `r13-${title.replaceAll(' ', '-').slice(0, 30)}`;
      const ids = await owner(name);
      const [method, body] = make(name, ids);
      const first = await t.raw(method, body);
      expect(first.code).toBeUndefined();
      const list = await t.list(name);
      const events = await t.countEvents();
      const seen = callbacksFor(await t.callbacksUntilNow(), name).length;
      const eventsAfterMarker = await t.countEvents();

      const again = await t.raw(method, body);
      expect(again).toEqual(first);
      expect(await t.countEvents()).toBe(eventsAfterMarker);
      expect(eventsAfterMarker - events).toBe(1); // the marker's message, nothing else
      expect(await t.list(name)).toEqual(list);
      expect(callbacksFor(await t.callbacksUntilNow(), name)).toHaveLength(seen);
    },
  );

  it('rule 13: recordMessage is idempotent on (conversationID, clientMsgID)', async () => {
    const first = await t.request(
      'recordMessage',
      message({ clientMsgID: 'dup', sendID: 'r13m-a', recvID: 'r13m-b', content: 'once' }),
    );
    expect(first.body).toEqual({ conversationID: 'si_r13m-a_r13m-b', seq: 1, duplicate: false });
    await t.request(
      'recordMessage',
      message({ clientMsgID: 'next', sendID: 'r13m-b', recvID: 'r13m-a' }),
    );
    const events = await t.countEvents();
    const seen = callbacksFor(await t.callbacksUntilNow(), 'r13m-b').length;
    const eventsAfterMarker = await t.countEvents();

    // A retry, even one whose other fields differ, answers the first seq.
    const retry = await t.request(
      'recordMessage',
      message({
        clientMsgID: 'dup',
        sendID: 'r13m-a',
        recvID: 'r13m-b',
        content: 'twice',
        sendTime: 1,
      }),
    );
    expect(retry).toEqual({
      code: undefined,
      error: undefined,
      body: { conversationID: 'si_r13m-a_r13m-b', seq: 1, duplicate: true },
    });
    expect(await t.countEvents()).toBe(eventsAfterMarker);
    expect(eventsAfterMarker - events).toBe(1);
    const [item] = await t.list('r13m-b');
    expect(item).toMatchObject({ maxSeq: 2 });
    expect(latestMsgOf(item)).toMatchObject({ clientMsgID: 'next' });
    expect(callbacksFor(await t.callbacksUntilNow(), 'r13m-b')).toHaveLength(seen);

    // The same clientMsgID in another conversation is another message.
    const elsewhere = await t.request(
      'recordMessage',
      message({ clientMsgID: 'dup', sendID: 'r13m-a', recvID: 'r13m-c' }),
    );
    expect(elsewhere.body).toEqual({
      conversationID: 'si_r13m-a_r13m-c',
      seq: 1,
      duplicate: false,
    });

    await t.request('joinGroup', { groupID: 'r13m-g', userIDs: ['r13m-a', 'r13m-b'] });
    const group = message({ clientMsgID: 'gdup', sendID: 'r13m-a', groupID: 'r13m-g' });
    expect((await t.request('recordMessage', group)).body).toEqual({
      conversationID: 'sg_r13m-g',
      seq: 1,
      duplicate: false,
    });
    expect((await t.request('recordMessage', group)).body).toEqual({
      conversationID: 'sg_r13m-g',
      seq: 1,
      duplicate: true,
    });
  });

  const unknown: Array<[string, unknown]> = [
    ['markConversationMessageAsRead', { userID: 'r15-o', conversationID: 'si_r15-o_r15-x' }],
    ['markSingleMessageHasRead', { userID: 'r15-o', uid: 'r15-x' }],
    ['markGroupMessageHasRead', { userID: 'r15-o', groupID: 'r15-nogroup' }],
    ['pinConversation', { userID: 'r15-o', conversationID: 'sg_r15-nogroup', isPinned: true }],
    ['deleteConversation', { userID: 'r15-o', conversationID: 'sn_r15-o_r15-x' }],
    ['hideConversation', { userID: 'r15-o', conversationID: 'si_r15-o_r15-x' }],
    ['clearConversationAndDeleteAllMsg', { userID: 'r15-o', conversationID: 'si_r15-o_r15-x' }],
    ['setConversationDraft', { userID: 'r15-o', conversationID: 'si_r15-o_r15-x', draftText: 'x' }],
    [
      'setConversationRecvMessageOpt',
      { userID: 'r15-o', conversationIDs: ['si_r15-o_r15-p', 'si_r15-o_r15-x'], opt: 2 },
    ],
    ['setConversation', { userID: 'r15-o', conversationID: 'si_r15-o_r15-x', ex: 'x' }],
    ['markConversationAsUnread', { userID: 'r15-o', conversationID: 'si_r15-o_r15-x' }],
    ['markConversationAsUnread', { userID: 'r15-o', conversationID: 'sg_r15-nogroup', fromSeq: 1 }],
    // Somebody else's conversation is unknown to this owner too.
    ['pinConversation', { userID: 'r15-o', conversationID: 'si_r15-p_r15-q', isPinned: true }],
    ['getOneConversation', { userID: 'r15-o', sessionType: 1, sourceID: 'r15-x' }],
    ['getOneConversation', { userID: 'r15-o', sessionType: 3, sourceID: 'r15-nogroup' }],
    ['getOneConversation', { userID: 'r15-o', sessionType: 4, sourceID: 'r15-p' }],
  ];

  it.each(unknown)(
    'rule 15: %s naming an unknown conversation answers 404 and appends nothing',
    async (method, body) => {
      await t.request(
        'recordMessage',
        message({ clientMsgID: 'known', sendID: 'r15-p', recvID: 'r15-o' }),
      );
      await t.request(
        'recordMessage',
        message({ clientMsgID: 'theirs', sendID: 'r15-p', recvID: 'r15-q' }),
      );
      const list = await t.list('r15-o');
      const events = await t.countEvents();
      const reply = await t.raw(method, body);
      expect(reply.code).toBe(404);
      expect(reply.error).toMatch(/conversationID: r15-o has no conversation s[ign]_/);
      expect(reply.body).toEqual({ errCode: 404, errMsg: reply.error, errDlt: expect.any(String) });
      expect(await t.countEvents()).toBe(events);
      expect(await t.list('r15-o')).toEqual(list);
    },
  );
});
