import { startEngine } from '@im/api';
import { silentLogger, singleConversationID } from '@im/domain';
import { openDatabase } from '@im/eventstore';
import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { configEnv, startEngineProcess, stopProcess } from './support/cli-process.ts';
import {
  connectClient,
  message,
  testConfig,
  useCleanup,
  useTestEngine,
} from './support/harness.ts';
import { deleteStream } from './support/streams.ts';

/** The events that ended the timer of the owner's conversation (the engine's own commands). */
const endings = async (db: Kysely<any>, owner: string) =>
  Number(
    (
      await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM events
        WHERE stream_id = ${`owner:${owner}`} AND metadata->'cause'->>'method' = 'recvMsgOptUntil'`.execute(
        db,
      )
    ).rows[0]?.n,
  );

describe('a do-not-disturb with an end (SPEC §8.2 rule 21)', () => {
  const t = useTestEngine();

  it('ends by itself on time, with its callbacks, and the total counts the conversation again', async () => {
    const owner = 'dnd-o';
    const chat = 'si_dnd-o_dnd-p';
    await t.api.recordMessage(message({ clientMsgID: '1', sendID: 'dnd-p', recvID: owner }));
    const until = Date.now() + 2000;
    const [muted] = (
      await t.api.setConversationRecvMessageOpt({
        userID: owner,
        conversationIDs: [chat],
        opt: 2,
        until,
      })
    ).conversations;
    expect(muted).toMatchObject({ recvMsgOpt: 2, recvMsgOptUntil: until });
    expect(await t.total(owner)).toBe(0);

    await t.awaitCallback(owner, 'OnConversationChanged', (data: any) =>
      data.some(
        (c: any) => c.conversationID === chat && c.recvMsgOpt === 0 && c.recvMsgOptUntil === 0,
      ),
    );
    const endedAt = Date.now();
    expect(endedAt - until).toBeLessThan(1000);
    await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (data) => data === 1);
    expect(await t.total(owner)).toBe(1);
    expect(await endings(t.engine.database.db, owner)).toBe(1);
  });

  it('refuses an end in the past, more than a year ahead, or with opt 0, naming until', async () => {
    await t.api.recordMessage(message({ clientMsgID: '1', sendID: 'dnd-q', recvID: 'dnd-r' }));
    for (const [opt, until] of [
      [2, Date.now() - 1000],
      [2, Date.now() + 400 * 24 * 3600 * 1000],
      [0, Date.now() + 5000],
    ] as const) {
      const reply = await t.raw('setConversationRecvMessageOpt', {
        userID: 'dnd-r',
        conversationIDs: ['si_dnd-q_dnd-r'],
        opt,
        until,
      });
      expect(reply.code).toBe(400);
      expect(reply.error).toMatch(/^until: /);
    }
  });
});

describe('a do-not-disturb that ends while no engine runs, or while two do', () => {
  const cleanup = useCleanup();

  it('ends at once on start when overdue, and once only with two engines running', async () => {
    const config = await testConfig({ PROJECTOR_PARTITIONS: '4' });
    const first = await startEngine(config, silentLogger);
    const client = await connectClient(config);
    cleanup(() => client.close());
    cleanup(() => deleteStream(client.nc, config.STREAM_NAME));
    const chat = 'si_dnd-a_dnd-b';
    await client.api.recordMessage(message({ clientMsgID: '1', sendID: 'dnd-a', recvID: 'dnd-b' }));
    const until = Date.now() + 1500;
    await client.api.setConversationRecvMessageOpt({
      userID: 'dnd-b',
      conversationIDs: [chat],
      opt: 1,
      until,
    });
    await first.stop();
    await new Promise((done) => setTimeout(done, until - Date.now() + 300));

    // Overdue when the engines start: two of them, sharing the partitions.
    const engines = await Promise.all([
      startEngine(config, silentLogger),
      startEngine({ ...config, INSTANCE_ID: `${config.INSTANCE_ID}-2` }, silentLogger),
    ]);
    cleanup(() => Promise.all(engines.map((engine) => engine.stop())));
    const started = Date.now();
    await expect
      .poll(async () => (await client.api.getTotalUnreadMsgCount({ userID: 'dnd-b' })).total, {
        timeout: 10_000,
      })
      .toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    await new Promise((done) => setTimeout(done, 1000));
    expect(await endings(engines[0]?.database.db, 'dnd-b')).toBe(1);
  }, 60_000);
});

describe('a do-not-disturb that ends as its engine is killed', () => {
  const cleanup = useCleanup();

  it('ends each once when the engine is SIGKILLed while they come due and two processes take over', async () => {
    const config = await testConfig({ PROJECTOR_PARTITIONS: '2' });
    const env = configEnv(config);
    let engine = await startEngineProcess(env);
    cleanup(() => stopProcess(engine, 'SIGKILL'));
    const client = await connectClient(config);
    cleanup(() => client.close());
    cleanup(() => deleteStream(client.nc, config.STREAM_NAME));
    const database = await openDatabase({ url: config.DATABASE_URL });
    cleanup(() => database.close());
    const owners = Array.from({ length: 20 }, (_, i) => `dnd-k${String(i).padStart(2, '0')}`);
    const started = Date.now();
    for (const [i, owner] of owners.entries()) {
      await client.api.recordMessage(message({ clientMsgID: '1', sendID: 'dnd-s', recvID: owner }));
      await client.api.setConversationRecvMessageOpt({
        userID: owner,
        conversationIDs: [singleConversationID(owner, 'dnd-s')],
        opt: 2,
        until: started + 1500 + i * 25,
      });
    }
    // Killed while the timers come due: some ended, some perhaps mid-command, the rest not yet.
    await new Promise((done) => setTimeout(done, started + 1750 - Date.now()));
    await stopProcess(engine, 'SIGKILL');
    // Two engine processes take over together, sharing the partitions as they come.
    engine = await startEngineProcess({ ...env, INSTANCE_ID: `${config.INSTANCE_ID}-a` });
    const second = await startEngineProcess({ ...env, INSTANCE_ID: `${config.INSTANCE_ID}-b` });
    cleanup(() => stopProcess(second, 'SIGKILL'));
    for (const owner of owners)
      await expect
        .poll(async () => (await client.api.getTotalUnreadMsgCount({ userID: owner })).total, {
          timeout: 15_000,
        })
        .toBe(1);
    await new Promise((done) => setTimeout(done, 1000));
    for (const owner of owners)
      expect({ owner, ends: await endings(database.db, owner) }).toEqual({ owner, ends: 1 });
  }, 90_000);
});
