import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '@im/domain';
import { openDatabase } from '@im/eventstore';
import { type EngineSchema, verifyReadModel } from '@im/projector';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliProcess,
  configEnv,
  startEngineProcess,
  stopProcess,
} from './support/cli-process.ts';
import { connectClient, message, type TestClient, testConfig } from './support/harness.ts';
import { type PrivatePostgres, startPrivatePostgres } from './support/private-postgres.ts';
import { deleteStream } from './support/streams.ts';

describe('PostgreSQL stopped and started under load', () => {
  let postgres: PrivatePostgres;
  let engine: CliProcess;
  let client: TestClient;
  let config: Awaited<ReturnType<typeof testConfig>>;

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    config = await testConfig({
      DATABASE_URL: postgres.url,
      READ_YOUR_WRITES_TIMEOUT_MS: '3000',
      // The worker thread's connections live through the outage too.
      PROJECTOR_THREADS: '2',
    });
    engine = await startEngineProcess(configEnv(config));
    client = await connectClient(config);
  }, 120_000);
  afterAll(async () => {
    await stopProcess(engine, 'SIGKILL');
    await deleteStream(client.nc, config.STREAM_NAME);
    await client.close();
    await postgres.remove();
  });

  it('the same process answers 503 while it is down, serves within a second of its return, and loses no acknowledged write', async () => {
    const acked = new Map<string, number>();
    const codes = new Map<number, number>();
    let sent = 0;
    const record = async (clientMsgID: string, worker: number) => {
      const reply = await client.request(
        'recordMessage',
        message({ clientMsgID, sendID: `w${worker}`, recvID: `peer${sent % 5}` }),
      );
      if (reply.code === undefined) acked.set(clientMsgID, reply.body.seq);
      else codes.set(reply.code, (codes.get(reply.code) ?? 0) + 1);
      return reply;
    };

    // A load of messages and pins from eight clients, going on through every outage.
    let loading = true;
    const load = Array.from({ length: 8 }, async (_, worker) => {
      while (loading) {
        sent += 1;
        await record(`load-${worker}-${sent}`, worker);
        const pin = await client.request('pinConversation', {
          userID: `w${worker}`,
          conversationID: `si_peer${sent % 5}_w${worker}`,
          isPinned: sent % 2 === 0,
        });
        if (pin.code !== undefined && pin.code !== 404)
          codes.set(pin.code, (codes.get(pin.code) ?? 0) + 1);
        await sleep(5);
      }
    });

    const recoveries: number[] = [];
    for (const mode of [
      'fast',
      'fast',
      'fast',
      'fast',
      'fast',
      'immediate',
      'immediate',
      'immediate',
      'immediate',
      'immediate',
    ] as const) {
      await sleep(300);
      await postgres.stop(mode);
      const down = await record(`down-${recoveries.length}`, 99);
      expect(down.code).toBe(503);
      await sleep(700);
      await postgres.start();
      const back = Date.now();
      for (let probe = 0; ; probe++) {
        const reply = await record(`probe-${recoveries.length}-${probe}`, 98);
        if (reply.code === undefined) break;
        expect(reply.code).toBe(503);
        expect(Date.now() - back).toBeLessThan(5000);
        await sleep(20);
      }
      recoveries.push(Date.now() - back);
      expect(engine.child.exitCode).toBeNull();
    }
    loading = false;
    await Promise.all(load);
    console.log(
      `PostgreSQL outages: served again ${recoveries.join(', ')} ms after it accepted connections; ${acked.size} messages acknowledged`,
    );

    // Every recovery within a second of PostgreSQL accepting connections again.
    expect(
      recoveries.every((ms) => ms <= 1000),
      `recoveries: ${recoveries.join(', ')} ms`,
    ).toBe(true);
    // Failures were 503 and only 503.
    expect([...codes.keys()].filter((code) => code !== 503)).toEqual([]);
    expect(engine.child.exitCode).toBeNull();

    // Every acknowledged message is in the log with its seq; the read model equals a rebuild.
    const database = await openDatabase<EngineSchema>({ url: postgres.url, poolSize: 2 });
    try {
      const logged = await sql<{ key: string; seq: number }>`
        SELECT idempotency_key AS key, stream_position AS seq FROM events
        WHERE type = 'MessageRecorded'`.execute(database.db);
      const seqs = new Map(logged.rows.map((row) => [row.key, Number(row.seq)]));
      const lost = [...acked].filter(([key, seq]) => seqs.get(key) !== seq);
      expect(lost).toEqual([]);
      const verified = await verifyReadModel({
        database,
        logger: silentLogger,
      });
      expect(verified.equal).toBe(true);
    } finally {
      await database.close();
    }

    // One line when it went away and one when it came back, per outage; no stack per request.
    const lines = engine.logLines();
    expect(
      lines.filter(
        (line) => line.msg === 'PostgreSQL unavailable; requests answer 503 until it is back',
      ),
    ).toHaveLength(10);
    expect(lines.filter((line) => line.msg === 'PostgreSQL is back')).toHaveLength(10);
    expect(lines.filter((line) => line.msg === 'request failed')).toEqual([]);
  }, 180_000);
});
