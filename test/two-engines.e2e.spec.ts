import { type Config, type Engine, startEngine } from '@im/api';
import { silentLogger } from '@im/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, message, type TestClient, testConfig } from './support/harness.ts';
import { deleteStream } from './support/streams.ts';

describe('two engine processes serving one chat through the queue group', () => {
  let config: Config;
  const engines: Engine[] = [];
  let client: TestClient;

  beforeAll(async () => {
    config = await testConfig();
    for (const name of ['a', 'b']) {
      const instance = { ...config, INSTANCE_ID: `${config.INSTANCE_ID}-${name}` };
      engines.push(await startEngine(instance, silentLogger));
    }
    client = await connectClient(config);
  });
  afterAll(async () => {
    for (const engine of engines) await engine.stop();
    await deleteStream(client.nc, config.STREAM_NAME);
    await client.close();
  });

  it('keeps seqs gapless and commands applied when each engine’s remembered version goes stale', async () => {
    // Sequential requests land on either engine at random: each often appends after the other.
    const seqs: number[] = [];
    for (let i = 0; i < 60; i++) {
      const reply = await client.request(
        'recordMessage',
        message({ clientMsgID: `m${i}`, sendID: 'ann', recvID: 'ben' }),
      );
      expect(reply.code).toBeUndefined();
      seqs.push(reply.body.seq);
    }
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // Both engines took part, so both appended after the other.
    for (const engine of engines) {
      const stats = await engine.service.stats();
      const served =
        stats.endpoints?.find((endpoint) => endpoint.name === 'recordMessage')?.num_requests ?? 0;
      expect(served).toBeGreaterThan(0);
    }

    const retried = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        client.request(
          'recordMessage',
          message({ clientMsgID: `m${i}`, sendID: 'ann', recvID: 'ben' }),
        ),
      ),
    );
    expect(retried.map((reply) => reply.body)).toEqual(
      Array.from({ length: 60 }, (_, i) => ({
        conversationID: 'si_ann_ben',
        seq: i + 1,
        duplicate: true,
      })),
    );

    for (let i = 0; i < 20; i++) {
      const pinned = await client.request('pinConversation', {
        userID: 'ben',
        conversationID: 'si_ann_ben',
        isPinned: i % 2 === 0,
      });
      expect(pinned.code).toBeUndefined();
      expect(pinned.body.conversation.isPinned).toBe(i % 2 === 0);
    }
    const conversation = (
      await client.request('getOneConversation', { userID: 'ben', sessionType: 1, sourceID: 'ann' })
    ).body.conversation;
    expect(conversation).toMatchObject({ maxSeq: 60, unreadCount: 60, isPinned: false });
  });
});
