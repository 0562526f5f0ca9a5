import { expect, it } from 'vitest';
import { latestMsgOf, message, useTestEngine } from './support/harness.ts';

const t = useTestEngine({ MESSAGE_DESTRUCT_EVERY_MS: '200' });

it('clears messages older than the window for that owner only; unread and latestMsg follow', async () => {
  const owner = 'md-o';
  const chat = 'si_md-o_md-p';
  const now = Date.now();
  // Two messages sent a minute ago, one now.
  for (const [id, sendTime] of [
    ['old-1', now - 60_000],
    ['old-2', now - 59_000],
    ['new-1', now],
  ] as const)
    await t.api.recordMessage({
      ...message({ clientMsgID: id, sendID: 'md-p', recvID: owner }),
      sendTime,
    });
  expect(await t.total(owner)).toBe(3);

  const { conversation: on } = await t.api.setConversation({
    userID: owner,
    conversationID: chat,
    isMsgDestruct: true,
    msgDestructTime: 30,
  });
  expect(on).toMatchObject({ isMsgDestruct: true, msgDestructTime: 30 });

  await t.awaitCallback(owner, 'OnConversationChanged', (data: any) =>
    data.some((c: any) => c.conversationID === chat && c.minSeq === 3),
  );
  const [item] = (await t.api.getMultipleConversation({ userID: owner, conversationIDs: [chat] }))
    .conversations;
  expect(item).toMatchObject({ minSeq: 3, maxSeq: 3, unreadCount: 1 });
  expect(item?.latestMsgDestructTime).toBeGreaterThanOrEqual(now);
  expect(latestMsgOf(item)).toMatchObject({ clientMsgID: 'new-1' });
  await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (data) => data === 1);

  // The peer, without self-destruct, keeps every message.
  const [theirs] = (
    await t.api.getMultipleConversation({ userID: 'md-p', conversationIDs: [chat] })
  ).conversations;
  expect(theirs).toMatchObject({ minSeq: 1, maxSeq: 3, isMsgDestruct: false });

  // When every message is past the window, latestMsg is "" and nothing is unread.
  await t.api.setConversation({ userID: owner, conversationID: chat, msgDestructTime: 1 });
  await new Promise((done) => setTimeout(done, 1500));
  await t.awaitCallback(owner, 'OnConversationChanged', (data: any) =>
    data.some((c: any) => c.conversationID === chat && c.minSeq === 4),
  );
  const [cleared] = (
    await t.api.getMultipleConversation({ userID: owner, conversationIDs: [chat] })
  ).conversations;
  expect(cleared).toMatchObject({ latestMsg: '', unreadCount: 0 });
}, 60_000);
