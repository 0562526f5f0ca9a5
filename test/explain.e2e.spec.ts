import { expect, it } from 'vitest';
import { message, useTestEngine } from './support/harness.ts';

const t = useTestEngine();

it('explainUnread names every change in history with the formula’s inputs; explainTotal adds up to the total', async () => {
  const owner = 'ex-o';
  const chat = 'si_ex-o_ex-p';
  for (const id of ['1', '2', '3'])
    await t.api.recordMessage(message({ clientMsgID: id, sendID: 'ex-p', recvID: owner }));
  await t.api.markConversationMessageAsRead({ userID: owner, conversationID: chat, upToSeq: 2 });
  await t.api.markConversationAsUnread({ userID: owner, conversationID: chat, deviceID: 'phone' });
  await t.api.setConversationRecvMessageOpt({ userID: owner, conversationIDs: [chat], opt: 2 });
  await t.api.hideConversation({ userID: owner, conversationID: chat });

  const explained = await t.api.explainUnread({ userID: owner, conversationID: chat });
  expect(explained.inputs).toEqual({
    maxSeq: 3,
    hasReadSeq: 2,
    minSeq: 1,
    isNotInGroup: false,
    isMarkedUnread: true,
    recvMsgOpt: 2,
    isHidden: true,
  });
  expect(explained.conversation).toMatchObject({ conversationID: chat, unreadCount: 1 });
  expect(explained.countsInTotal).toBe(false);
  expect(explained.reasons.join('\n')).toMatch(/marked unread/);
  expect(explained.reasons.join('\n')).toMatch(/hidden/);
  expect(explained.reasons.join('\n')).toMatch(/do not disturb \(recvMsgOpt 2\)/);
  // Newest first: hide, mute, mark unread, read, and the three messages.
  expect(explained.history.map((h) => h.type)).toEqual([
    'ConversationHidden',
    'ConversationSettingsChanged',
    'ConversationMarkedUnread',
    'ConversationMarkedRead',
    'MessageRecorded',
    'MessageRecorded',
    'MessageRecorded',
  ]);
  const [hidden, muted, marked, read] = explained.history;
  expect(hidden?.change.isHidden).toEqual({ from: false, to: true });
  expect(muted?.change.recvMsgOpt).toEqual({ from: 0, to: 2 });
  expect(marked?.cause).toEqual({ method: 'markConversationAsUnread', deviceID: 'phone' });
  expect(read?.change.hasReadSeq).toEqual({ from: 0, to: 2 });
  expect(read?.change.unreadCount).toEqual({ from: 3, to: 1 });
  // Versions as callbacks and sync give them: the latest is the conversation's.
  expect(hidden?.version).toBe(explained.conversation.version);
  const versions = explained.history.map((h) => h.version);
  expect(versions).toEqual([...versions].sort((a, b) => b - a));

  // The total counts listed, not muted conversations; the others are named with why.
  await t.api.recordMessage(message({ clientMsgID: 'q1', sendID: 'ex-q', recvID: owner }));
  await t.api.recordMessage(message({ clientMsgID: 'r1', sendID: 'ex-r', recvID: owner }));
  await t.api.markConversationMessageAsRead({ userID: owner, conversationID: 'si_ex-o_ex-r' });
  await t.api.markConversationAsUnread({ userID: owner, conversationID: 'si_ex-o_ex-r' });
  const total = await t.api.explainTotal({ userID: owner });
  expect(total.total).toBe((await t.api.getTotalUnreadMsgCount({ userID: owner })).total);
  expect(total.counted.reduce((sum, c) => sum + c.unread, 0)).toBe(total.total);
  expect(total.counted).toEqual(
    [
      { conversationID: 'si_ex-o_ex-q', unread: 1 },
      { conversationID: 'si_ex-o_ex-r', unread: 1 },
    ].sort((a, b) => (a.conversationID < b.conversationID ? -1 : 1)),
  );
  expect(total.excluded).toEqual([{ conversationID: chat, unread: 1, reason: 'hidden' }]);

  const unknown = await t.raw('explainUnread', { userID: owner, conversationID: 'si_ex-o_ex-x' });
  expect(unknown.code).toBe(404);
});
