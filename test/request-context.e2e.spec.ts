import { sql } from 'kysely';
import { headers } from 'nats';
import { expect, it } from 'vitest';
import { message, useTestEngine } from './support/harness.ts';

const t = useTestEngine();
const encoder = new TextEncoder();

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Sends a request with a traceparent header, as a traced caller does. */
const tracedRequest = async (method: string, body: unknown, traceparent: string) => {
  const h = headers();
  h.set('traceparent', traceparent);
  const reply = await t.nc.request(
    `${t.config.SUBJECT_PREFIX}.${method}`,
    encoder.encode(JSON.stringify(body)),
    { timeout: 10_000, headers: h },
  );
  expect(reply.headers?.get('Nats-Service-Error-Code') ?? '').toBe('');
};

/** The user's first `count` callbacks in the stream, each with its traceparent header and cause. */
const callbacksOf = async (userID: string, count: number) => {
  const consumer = await t.nc.jetstream().consumers.get(t.config.STREAM_NAME, {
    filterSubjects: `${t.config.SUBJECT_PREFIX}.events.${userID}.>`,
  });
  const found: Array<{ name: string; traceparent: string | undefined; cause: unknown }> = [];
  const messages = await consumer.consume();
  for await (const msg of messages) {
    found.push({
      name: msg.subject.split('.').at(-1) as string,
      traceparent: msg.headers?.get('traceparent') || undefined,
      cause: msg.json<{ cause?: unknown }>().cause,
    });
    if (found.length >= count) break;
  }
  return found;
};

it('keeps a request’s traceparent and cause with its events and sends them on the callbacks they cause', async () => {
  await tracedRequest(
    'recordMessage',
    {
      ...message({ clientMsgID: 'tp-1', sendID: 'tp-a', recvID: 'tp-b' }),
      operationID: 'op-1',
      deviceID: 'phone-1',
    },
    TRACEPARENT,
  );
  const cause = {
    method: 'recordMessage',
    operationID: 'op-1',
    deviceID: 'phone-1',
    clientMsgID: 'tp-1',
  };
  const stored = await sql<{ metadata: unknown }>`
    SELECT metadata FROM events WHERE stream_id = 'messages:si_tp-a_tp-b'`.execute(
    t.engine.database.db,
  );
  expect(stored.rows.map((row) => row.metadata)).toEqual([{ traceparent: TRACEPARENT, cause }]);
  expect(await callbacksOf('tp-b', 2)).toEqual([
    { name: 'OnNewConversation', traceparent: TRACEPARENT, cause },
    { name: 'OnTotalUnreadMessageCountChanged', traceparent: TRACEPARENT, cause },
  ]);

  // A group message's callbacks to its members, worked out when published, carry them too.
  await t.request('joinGroup', { groupID: 'tp-g', userIDs: ['tp-a', 'tp-c'] });
  const group = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  await tracedRequest(
    'recordMessage',
    message({ clientMsgID: 'tp-2', sendID: 'tp-a', groupID: 'tp-g' }),
    group,
  );
  const groupCause = { method: 'recordMessage', clientMsgID: 'tp-2' };
  expect(await callbacksOf('tp-c', 2)).toEqual([
    { name: 'OnNewConversation', traceparent: group, cause: groupCause },
    { name: 'OnTotalUnreadMessageCountChanged', traceparent: group, cause: groupCause },
  ]);

  // A malformed traceparent is not kept; the device that acted is named, for the gateway to
  // leave the echo out on that device.
  await tracedRequest(
    'pinConversation',
    { userID: 'tp-b', conversationID: 'si_tp-a_tp-b', isPinned: true, deviceID: 'tablet' },
    'not-a-traceparent',
  );
  expect((await callbacksOf('tp-b', 3)).at(-1)).toEqual({
    name: 'OnConversationChanged',
    traceparent: undefined,
    cause: { method: 'pinConversation', deviceID: 'tablet' },
  });

  // Sync brackets name the sync's cause too.
  await tracedRequest('syncConversations', { userID: 'tp-s', deviceID: 'web' }, TRACEPARENT);
  expect((await callbacksOf('tp-s', 2)).map((c) => c.cause)).toEqual([
    { method: 'syncConversations', deviceID: 'web' },
    { method: 'syncConversations', deviceID: 'web' },
  ]);
});
