import { type CallbackConsumer, createCallbackConsumer, type ReceivedCallback } from '@im/client';
import { expect, it } from 'vitest';
import { message, useTestEngine } from './support/harness.ts';

const t = useTestEngine();

/** A gateway's consumer with what it passed on, stopped at the end of the test. */
const gateway = (name: string) => {
  const callbacks: ReceivedCallback[] = [];
  const resyncs: Array<{ userID: string; version: number; full: boolean }> = [];
  const consumer: CallbackConsumer = createCallbackConsumer(t.nc, {
    gateway: name,
    subjectPrefix: t.config.SUBJECT_PREFIX,
    streamName: t.config.STREAM_NAME,
    onCallback: (callback) => {
      callbacks.push(callback);
    },
    onResync: (userID, answer) => {
      resyncs.push({ userID, version: answer.version, full: answer.full });
    },
  });
  return { consumer, callbacks, resyncs };
};

const send = (clientMsgID: string, recvID: string) =>
  t.request('recordMessage', message({ clientMsgID, sendID: 'cc-peer', recvID }));

it('passes on the callbacks of the users it tracks, new and in version order, once', async () => {
  const { consumer, callbacks, resyncs } = gateway('gw-order');
  await consumer.start();
  try {
    await consumer.track('cc-a');
    expect(resyncs).toEqual([{ userID: 'cc-a', version: 0, full: true }]);
    for (const n of [1, 2, 3]) {
      await send(`a${n}`, 'cc-a');
      await send(`b${n}`, 'cc-b');
    }
    await expect
      .poll(
        () => callbacks.filter((c) => c.name === 'OnTotalUnreadMessageCountChanged').at(-1)?.data,
        {
          timeout: 20_000,
        },
      )
      .toBe(3);
    expect(new Set(callbacks.map((c) => c.userID))).toEqual(new Set(['cc-a']));
    expect(new Set(callbacks.map((c) => c.msgID)).size).toBe(callbacks.length);
    const versions = callbacks.filter((c) => !c.name.startsWith('OnSync')).map((c) => c.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    // Sync brackets come too (for clients that show sync progress); the changes in order.
    expect(callbacks.filter((c) => !c.name.startsWith('OnSync')).map((c) => c.name)).toEqual([
      'OnNewConversation',
      'OnTotalUnreadMessageCountChanged',
      'OnConversationChanged',
      'OnTotalUnreadMessageCountChanged',
      'OnConversationChanged',
      'OnTotalUnreadMessageCountChanged',
    ]);
  } finally {
    await consumer.stop();
  }
});

it('resyncs the users it tracks when the stream dropped callbacks it had not read', async () => {
  const first = gateway('gw-gap');
  await first.consumer.start();
  await first.consumer.track('cc-g');
  await send('g1', 'cc-g');
  await expect
    .poll(() => first.callbacks.filter((c) => !c.name.startsWith('OnSync')).length, {
      timeout: 20_000,
    })
    .toBe(2);
  await first.consumer.stop();

  // While the gateway is away, two messages; the stream loses a callback of the first one.
  await send('g2', 'cc-g');
  const jsm = await t.nc.jetstreamManager();
  const stream = t.config.STREAM_NAME;
  const totalOf = () =>
    jsm.streams
      .getMessage(stream, {
        last_by_subj: `${t.config.SUBJECT_PREFIX}.events.cc-g.OnTotalUnreadMessageCountChanged`,
      })
      .catch(() => undefined);
  // Published after the reply: wait for it in the stream.
  await expect
    .poll(async () => (await totalOf())?.json<{ data: number }>().data, { timeout: 20_000 })
    .toBe(2);
  await jsm.streams.deleteMessage(stream, (await totalOf())?.seq as number);
  await send('g3', 'cc-g');

  const second = gateway('gw-gap');
  await second.consumer.track('cc-g');
  await second.consumer.start();
  try {
    await expect.poll(() => second.resyncs.length, { timeout: 20_000 }).toBe(2);
    // The resync brought the user to the newest version; what was read after it is not old news.
    expect(second.resyncs[1]).toMatchObject({ userID: 'cc-g', full: false });
    expect((await t.request('getTotalUnreadMsgCount', { userID: 'cc-g' })).body).toEqual({
      total: 3,
    });
  } finally {
    await second.consumer.stop();
  }
});
