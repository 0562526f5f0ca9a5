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

/** The user's callbacks in the stream, each with its traceparent header. */
const callbacksOf = async (userID: string, count: number) => {
  const consumer = await t.nc.jetstream().consumers.get(t.config.STREAM_NAME, {
    filterSubjects: `${t.config.SUBJECT_PREFIX}.events.${userID}.>`,
  });
  const found: Array<{ name: string; traceparent: string | undefined }> = [];
  const messages = await consumer.consume();
  for await (const msg of messages) {
    found.push({
      name: msg.subject.split('.').at(-1) as string,
      traceparent: msg.headers?.get('traceparent') || undefined,
    });
    if (found.length >= count) break;
  }
  return found;
};

it('keeps a request’s traceparent with its events and sends it on the callbacks they cause', async () => {
  await tracedRequest(
    'recordMessage',
    message({ clientMsgID: 'tp-1', sendID: 'tp-a', recvID: 'tp-b' }),
    TRACEPARENT,
  );
  const stored = await sql<{ metadata: { traceparent?: string } | null }>`
    SELECT metadata FROM events WHERE stream_id = 'messages:si_tp-a_tp-b'`.execute(
    t.engine.database.db,
  );
  expect(stored.rows.map((row) => row.metadata)).toEqual([{ traceparent: TRACEPARENT }]);
  expect(await callbacksOf('tp-b', 2)).toEqual([
    { name: 'OnNewConversation', traceparent: TRACEPARENT },
    { name: 'OnTotalUnreadMessageCountChanged', traceparent: TRACEPARENT },
  ]);

  // A group message's callbacks to its members, worked out when published, carry it too.
  await t.request('joinGroup', { groupID: 'tp-g', userIDs: ['tp-a', 'tp-c'] });
  const group = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  await tracedRequest(
    'recordMessage',
    message({ clientMsgID: 'tp-2', sendID: 'tp-a', groupID: 'tp-g' }),
    group,
  );
  expect(await callbacksOf('tp-c', 2)).toEqual([
    { name: 'OnNewConversation', traceparent: group },
    { name: 'OnTotalUnreadMessageCountChanged', traceparent: group },
  ]);

  // A malformed one is not kept: nothing to pass on.
  await tracedRequest(
    'pinConversation',
    { userID: 'tp-b', conversationID: 'si_tp-a_tp-b', isPinned: true },
    'not-a-traceparent',
  );
  const pinned = await callbacksOf('tp-b', 3);
  expect(pinned.at(-1)).toEqual({ name: 'OnConversationChanged', traceparent: undefined });
});
