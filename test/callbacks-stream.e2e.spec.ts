import { type Config, startEngine } from '@im/api';
import { silentLogger } from '@im/domain';
import { connect, type NatsConnection, nanos } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, message, testConfig } from './support/harness.ts';
import { deleteStream } from './support/streams.ts';

const silent = silentLogger;

describe('the callback stream', () => {
  let nc: NatsConnection;
  const streams: string[] = [];
  beforeAll(async () => {
    nc = await connect({ servers: (await testConfig()).NATS_URL });
  });
  afterAll(async () => {
    for (const name of streams) await deleteStream(nc, name);
    await nc.close();
  });

  /** Runs `work` against an engine on `config`, leaving its stream behind. */
  const withEngine = async (config: Config, work: () => Promise<void> = async () => {}) => {
    streams.push(config.STREAM_NAME);
    const engine = await startEngine(config, silent);
    try {
      await work();
    } finally {
      await engine.stop();
    }
  };

  it('is created on start with file storage, the configured limits and a duplicate window', async () => {
    const config = await testConfig({
      STREAM_MAX_AGE_MS: String(3_600_000),
      STREAM_MAX_BYTES: String(8 * 1024 * 1024),
      STREAM_DUPLICATE_WINDOW_MS: String(60_000),
    });
    await withEngine(config);
    const info = await (await nc.jetstreamManager()).streams.info(config.STREAM_NAME);
    expect(info.config).toMatchObject({
      subjects: [`${config.SUBJECT_PREFIX}.events.>`],
      storage: 'file',
      retention: 'limits',
      discard: 'old',
      max_age: nanos(3_600_000),
      max_bytes: 8 * 1024 * 1024,
      duplicate_window: nanos(60_000),
    });
  });

  it('is updated to new limits on the next start, keeping its callbacks', async () => {
    const config = await testConfig();
    let before = 0;
    await withEngine(config, async () => {
      const client = await connectClient(config);
      await client.request(
        'recordMessage',
        message({ clientMsgID: 'k1', sendID: 'a', recvID: 'b' }),
      );
      await client.close();
      before = await waitForMessages(nc, config.STREAM_NAME, 3);
    });
    const jsm = await nc.jetstreamManager();
    await withEngine({ ...config, STREAM_MAX_AGE_MS: 7_200_000, STREAM_MAX_BYTES: 1024 * 1024 });
    const after = await jsm.streams.info(config.STREAM_NAME);
    expect(after.config.max_age).toBe(nanos(7_200_000));
    expect(after.config.max_bytes).toBe(1024 * 1024);
    expect(after.state.messages).toBe(before);
  });

  it('keeps to max bytes by dropping the oldest callbacks first', async () => {
    const config = await testConfig({ STREAM_MAX_BYTES: String(16 * 1024) });
    await withEngine(config, async () => {
      const client = await connectClient(config);
      for (let i = 0; i < 40; i++) {
        await client.request(
          'recordMessage',
          message({ clientMsgID: `m${i}`, sendID: 'a', recvID: 'b', content: 'x'.repeat(200) }),
        );
      }
      await client.close();
      // 40 messages give 120 callbacks of about 900 bytes: far more than 16 KiB.
      await expect
        .poll(
          async () => {
            const info = await (await nc.jetstreamManager()).streams.info(config.STREAM_NAME);
            return info.state.last_seq >= 120;
          },
          { timeout: 30_000 },
        )
        .toBe(true);
    });
    const info = await (await nc.jetstreamManager()).streams.info(config.STREAM_NAME);
    expect(info.state.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(info.state.first_seq).toBeGreaterThan(1);
    const last = await (await nc.jetstreamManager()).streams.getMessage(config.STREAM_NAME, {
      seq: info.state.last_seq,
    });
    expect(last.json<{ userID: string }>().userID).toBeDefined();
  });

  it('drops a callback published again with the same Nats-Msg-Id', async () => {
    const config = await testConfig();
    let count = 0;
    await withEngine(config, async () => {
      const client = await connectClient(config);
      await client.request(
        'recordMessage',
        message({ clientMsgID: 'd1', sendID: 'a', recvID: 'b' }),
      );
      await client.close();
      count = await waitForMessages(nc, config.STREAM_NAME, 3);
    });
    const first = await (await nc.jetstreamManager()).streams.getMessage(config.STREAM_NAME, {
      seq: 1,
    });
    const again = await nc.jetstream().publish(first.subject, first.data, {
      msgID: first.header.get('Nats-Msg-Id'),
    });
    expect(again.duplicate).toBe(true);
    const info = await (await nc.jetstreamManager()).streams.info(config.STREAM_NAME);
    expect(info.state.messages).toBe(count);
  });
});

/** Waits until the stream holds at least `count` messages; answers how many it holds. */
const waitForMessages = async (nc: NatsConnection, stream: string, count: number) => {
  const jsm = await nc.jetstreamManager();
  let messages = 0;
  await expect
    .poll(
      async () => {
        messages = (await jsm.streams.info(stream)).state.messages;
        return messages >= count;
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  return messages;
};
