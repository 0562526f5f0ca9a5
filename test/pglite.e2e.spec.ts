import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, type Engine, loadConfig, startEngine } from '@im/api';
import { silentLogger } from '@im/domain';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collectCallbacks } from './support/callback-collector.ts';
import { connectClient, message, type TestClient } from './support/harness.ts';
import { deleteStream } from './support/streams.ts';

describe('with DATABASE_URL unset: the embedded PGlite', () => {
  let dataDir: string;
  let config: Config;
  let engine: Engine;
  let client: TestClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'im-pglite-'));
    const id = `${inject('runId')}_pglite`;
    config = loadConfig({
      DATA_DIR: dataDir,
      NATS_URL: inject('natsUrl'),
      SUBJECT_PREFIX: `${id}.conversation`,
      STREAM_NAME: `S_${id}`,
      LOG_LEVEL: 'silent',
    });
    engine = await startEngine(config, silentLogger);
    client = await connectClient(config);
  });
  afterAll(async () => {
    await engine.stop();
    await deleteStream(client.nc, config.STREAM_NAME);
    await client.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs the same slice: message, lists, unread, pin and callbacks', async () => {
    expect(engine.database.kind).toBe('pglite');
    const callbacks = await collectCallbacks(client.nc, config);
    const recorded = await client.request(
      'recordMessage',
      message({ clientMsgID: 'p1', sendID: 'ann', recvID: 'ben' }),
    );
    expect(recorded.body).toEqual({ conversationID: 'si_ann_ben', seq: 1, duplicate: false });
    const retried = await client.request(
      'recordMessage',
      message({ clientMsgID: 'p1', sendID: 'ann', recvID: 'ben' }),
    );
    expect(retried.body).toEqual({ conversationID: 'si_ann_ben', seq: 1, duplicate: true });

    const benList = (await client.request('getAllConversationList', { userID: 'ben' })).body
      .conversations;
    expect(benList).toMatchObject([
      { conversationID: 'si_ann_ben', userID: 'ann', unreadCount: 1 },
    ]);
    expect((await client.request('getTotalUnreadMsgCount', { userID: 'ben' })).body).toEqual({
      total: 1,
    });
    expect((await client.request('getTotalUnreadMsgCount', { userID: 'ann' })).body).toEqual({
      total: 0,
    });
    const pinned = await client.request('pinConversation', {
      userID: 'ben',
      conversationID: 'si_ann_ben',
      isPinned: true,
    });
    expect(pinned.body.conversation.isPinned).toBe(true);

    const received = await callbacks.until(
      (all) => all.filter((c) => c.userID === 'ben').length >= 3,
    );
    expect(received.filter((c) => c.userID === 'ben').map((c) => c.name)).toEqual([
      'OnNewConversation',
      'OnTotalUnreadMessageCountChanged',
      'OnConversationChanged',
    ]);
    await callbacks.stop();
  });

  it('keeps its data in the folder across a restart', async () => {
    await engine.stop();
    engine = await startEngine(config, silentLogger);
    const benList = (await client.request('getAllConversationList', { userID: 'ben' })).body
      .conversations;
    expect(benList).toMatchObject([
      { conversationID: 'si_ann_ben', isPinned: true, unreadCount: 1 },
    ]);
  });

  it('answers bad input with 400 there too', async () => {
    const reply = await client.request('getAllConversationList', { userID: 'ben smith' });
    expect(reply.code).toBe(400);
    expect(reply.error).toContain('userID');
  });
});
