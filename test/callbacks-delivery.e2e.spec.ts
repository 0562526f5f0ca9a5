import { startEngine } from '@im/api';
import { silentLogger } from '@im/domain';
import { openDatabase } from '@im/eventstore';
import type { PublisherStats } from '@im/projector';
import { sql } from 'kysely';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { configEnv, spawnCli, stopProcess } from './support/cli-process.ts';
import {
  changesDue,
  crowd,
  dedupe,
  durableConsumer,
  duringBurst,
  expectedMsgIDs,
  expectLastStates,
  expectVersionOrder,
  freezeWhileDue,
  markerDone,
  nextGroupMessage,
  readStream,
  runCommands,
} from './support/delivery.ts';
import { testConfig, useCleanup } from './support/harness.ts';
import { answers, gatewayConnection, patientClient } from './support/patient-client.ts';
import { startPrivateNats } from './support/private-nats.ts';
import { deleteStream } from './support/streams.ts';

describe('delivery while the engine is killed', () => {
  const cleanup = useCleanup();

  it('gives a durable consumer every callback exactly once after dedupe, in version order', async () => {
    // A projection worker thread publishes half the partitions' callbacks when the process dies.
    const config = await testConfig({ PROJECTOR_THREADS: '2' });
    /** The engine in a process of its own, to SIGSTOP and SIGKILL. */
    const spawnEngine = () => spawnCli(['start'], configEnv(config));
    let engine = spawnEngine();
    cleanup(() => stopProcess(engine, 'SIGKILL'));
    const client = await patientClient(config);
    cleanup(() => client.close());
    const members = crowd(600, 'c');
    await client.request('joinGroup', { groupID: 'crowd', userIDs: members });
    const gateway = await connect({ servers: config.NATS_URL });
    cleanup(async () => {
      await deleteStream(gateway, config.STREAM_NAME);
      await gateway.close();
    });
    const consumer = await durableConsumer(gateway, config, 'gateway');
    cleanup(async () => consumer.stop());

    const database = await openDatabase({ url: config.DATABASE_URL });
    cleanup(() => database.close());
    const unpublished = async () =>
      Number((await sql<{ n: number }>`${changesDue}`.execute(database.db)).rows[0]?.n);

    const jsm = await gateway.jetstreamManager();
    const streamSeq = async () => (await jsm.streams.info(config.STREAM_NAME)).state.last_seq;
    const backlogAtKill: number[] = [];
    await runCommands(
      client,
      { tag: 'k', count: 72, groupID: 'crowd', sender: members[0] as string },
      async (done) => {
        if (done % 24 !== 0 || done === 72) return;
        // Kill while a group message's callbacks are being published, not yet checkpointed.
        const backlog = await freezeWhileDue(
          () => duringBurst(streamSeq),
          unpublished,
          (name) => engine.child.kill(name),
          members.length,
        );
        await stopProcess(engine, 'SIGKILL');
        backlogAtKill.push(backlog);
        engine = spawnEngine();
      },
    );
    expect(backlogAtKill).toHaveLength(2);
    expect(Math.min(...backlogAtKill)).toBeGreaterThanOrEqual(members.length);
    await markerDone(client, () => consumer.received, 'k');

    const expected = await expectedMsgIDs(database.db);
    const delivered = dedupe(consumer.received);
    expect(new Set(expected).size).toBe(expected.length);
    expect(delivered.map((c) => c.msgID).sort()).toEqual([...expected].sort());
    expectVersionOrder(delivered);
    await expectLastStates(client, delivered, ['kr0', 'ks1', 'kr2', ...members.slice(0, 3)]);
    console.info(
      `engine killed with ${backlogAtKill.join(' and ')} outbox changes due: ${expected.length} callbacks expected, ${consumer.received.length} delivered, ${delivered.length} after dedupe`,
    );
  }, 300_000);
});

describe('delivery across a NATS outage', () => {
  const cleanup = useCleanup();

  it('publishes every callback due, in version order per owner, once NATS returns', async () => {
    const nats = await startPrivateNats();
    cleanup(() => nats.remove());
    const config = await testConfig({ NATS_URL: nats.url, PROJECTOR_THREADS: '2' });
    const engine = await startEngine(config, silentLogger);
    cleanup(() => engine.stop());
    const publisher = () => engine.stats().publisher as PublisherStats;
    const client = await patientClient(config);
    cleanup(() => client.close());
    const gateway = await gatewayConnection(nats.url);
    cleanup(() => gateway.close());
    const unpublished = async () =>
      Number((await sql<{ n: number }>`${changesDue}`.execute(engine.database.db)).rows[0]?.n);
    const members = crowd(600, 'o');
    await client.request('joinGroup', { groupID: 'town', userIDs: members });

    let outage: { due: number; backlog: number; failures: number } | undefined;
    let servedAgainMs = Number.POSITIVE_INFINITY;
    await runCommands(
      client,
      { tag: 'n', count: 60, groupID: 'town', sender: members[0] as string },
      async (done) => {
        if (done !== 20) return;
        // Stop NATS as a group message is recorded: its callbacks fall due while NATS is away.
        const due = await freezeWhileDue(
          () => nextGroupMessage(engine.database.db),
          unpublished,
          nats.signal,
          members.length,
        );
        await nats.kill();
        await expect
          .poll(() => publisher().status === 'degraded', { message: 'degraded', timeout: 60_000 })
          .toBe(true);
        // The engine keeps projecting; what it cannot publish waits in the outbox.
        await expect
          .poll(() => publisher().failures > 0, { message: 'a failed publish', timeout: 60_000 })
          .toBe(true);
        outage = { due, backlog: await unpublished(), failures: publisher().failures };
        await nats.start();
        const back = Date.now();
        await expect
          .poll(() => answers(config), { message: 'the engine serving again', timeout: 10_000 })
          .toBe(true);
        servedAgainMs = Date.now() - back;
      },
    );
    // The engine redials soon after the server returns, whatever backoff the outage built up.
    expect(servedAgainMs).toBeLessThan(1000);
    expect(outage?.due).toBeGreaterThanOrEqual(members.length);
    await expect
      .poll(() => publisher().status === 'ok', { message: 'healthy again', timeout: 60_000 })
      .toBe(true);
    await expect
      .poll(async () => (await unpublished()) === 0, {
        message: 'the outbox drained',
        timeout: 60_000,
      })
      .toBe(true);

    const delivered = dedupe(await readStream(gateway, config));
    const expected = await expectedMsgIDs(engine.database.db);
    expect(delivered.map((c) => c.msgID).sort()).toEqual([...expected].sort());
    expectVersionOrder(delivered);
    await expectLastStates(client, delivered, ['nr0', 'ns2', ...members.slice(0, 3)]);
    console.info(
      `NATS killed with ${outage?.due} outbox changes due, served again ${servedAgainMs} ms after it returned (${outage?.backlog} during the outage); ${outage?.failures} failed attempts; ${delivered.length} callbacks in the stream`,
    );
  }, 300_000);
});
