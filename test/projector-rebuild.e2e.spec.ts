import { projectedUpTo } from '@im/projector';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliCommand, configEnv, runCli, spawnCli } from './support/cli-process.ts';
import { message, type Reply, startTestEngine, type TestEngine } from './support/harness.ts';
import { appendWorkload, workload } from './support/projector-workload.ts';

const tableOid = async (t: TestEngine) =>
  (
    await sql<{ oid: number }>`SELECT 'conversation_item'::regclass::oid::int AS oid`.execute(
      t.engine.database.db,
    )
  ).rows[0]?.oid;

interface Sent {
  method: string;
  reply: Reply;
  at: number;
}

/**
 * Clients that keep sending commands and queries over NATS until stopped: each owns a few
 * users, messages them, pins and reads their conversations, and lists them.
 */
const startLoad = (t: TestEngine, workers: number) => {
  const sent: Sent[] = [];
  let running = true;
  const request = async (method: string, body: unknown) => {
    const reply = await t.raw(method, body);
    sent.push({ method, reply, at: Date.now() });
    return reply;
  };
  const worker = async (w: number) => {
    for (let i = 0; running && i < 100_000; i++) {
      const owner = `load${w}`;
      const peer = `peer${w}_${i % 7}`;
      const conversationID = `si_${[owner, peer].sort().join('_')}`;
      await request(
        'recordMessage',
        message({ clientMsgID: `m${w}-${i}`, sendID: peer, recvID: owner, sendTime: 1e12 + i }),
      );
      await request('getAllConversationList', { userID: owner });
      await request('getTotalUnreadMsgCount', { userID: owner });
      if (i % 3 === 0)
        await request('pinConversation', { userID: owner, conversationID, isPinned: i % 2 === 0 });
      if (i % 4 === 0)
        await request('markConversationMessageAsRead', { userID: owner, conversationID });
      await request('getConversationListPage', { userID: owner, limit: 5 });
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return {
    sent,
    async stop() {
      running = false;
      await done;
    },
  };
};

describe('rebuild while the engine serves', () => {
  let t: TestEngine;
  let env: Record<string, string>;
  const appends = workload({ events: 6000, users: 200, groups: 8, seed: 11 });
  const preloaded = appends.reduce((sum, append) => sum + append.events.length, 0);

  beforeAll(async () => {
    t = await startTestEngine();
    env = configEnv(t.config, { LOG_LEVEL: 'info' });
    await appendWorkload(t.engine.database.db, appends);
    await vi.waitFor(
      async () => {
        const { handled } = await projectedUpTo(t.engine.database.db);
        expect(handled, 'the preloaded events projected').toBeGreaterThanOrEqual(preloaded);
      },
      { timeout: 60_000, interval: 50 },
    );
  }, 300_000);
  afterAll(() => t.stop());

  it('switches to the table rebuilt in two threads while commands keep arriving; no request fails and verify finds it equal', async () => {
    const before = await tableOid(t);
    const load = startLoad(t, 4);
    await expect
      .poll(() => load.sent.length >= 50, { message: 'the load running', timeout: 60_000 })
      .toBe(true);
    // Its partitions split over two replay threads; verify below replays in one.
    const rebuild = spawnCli(
      ['rebuild', '--batch-size', '1000', '--progress-every', '1', '--threads', '2'],
      env,
    );
    const { code } = await rebuild.exited;
    const switchedAt = Date.now();
    const sentBefore = load.sent.length;
    // Verify with the commands still arriving: it compares at the live checkpoint it reaches.
    const verifyUnderLoad = await runCli(['verify'], env);
    await expect
      .poll(() => load.sent.length >= sentBefore + 100, {
        message: 'requests after the switch',
        timeout: 60_000,
      })
      .toBe(true);
    await load.stop();
    expect(verifyUnderLoad.stdout).toMatch(/^equal: /);
    expect(verifyUnderLoad.code).toBe(0);

    expect(rebuild.stderr()).not.toContain('"level":"error"');
    expect(code).toBe(0);
    expect(rebuild.stdout()).toMatch(/^rebuilt [\d,]+ rows from [\d,]+ events/);
    expect(await tableOid(t)).not.toBe(before);
    // Off a terminal, progress comes as JSON log lines.
    const progress = rebuild.logLines().filter((line) => line.msg === 'rebuild progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ percent: 100 });
    expect(progress.at(-1)?.done).toBeGreaterThanOrEqual(preloaded);

    const failed = load.sent.filter((s) => s.reply.code !== undefined);
    expect(failed.map((s) => `${s.method}: ${s.reply.code} ${s.reply.error}`)).toEqual([]);
    expect(load.sent.some((s) => s.at < switchedAt - 1000)).toBe(true);
    expect(load.sent.some((s) => s.at > switchedAt)).toBe(true);

    // Per owner, callbacks still come in version order across the switch.
    const callbacks = await t.callbacks.until((all) =>
      all.some((c) => c.userID === 'load0' && c.version >= 1),
    );
    for (const owner of ['load0', 'load1', 'load2', 'load3']) {
      const versions = callbacks.filter((c) => c.userID === owner).map((c) => c.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }

    await expect
      .poll(
        async () => {
          const { head } = (
            await sql<{ head: number }>`SELECT count(*)::int AS head FROM events`.execute(
              t.engine.database.db,
            )
          ).rows[0] ?? { head: 0 };
          return (await projectedUpTo(t.engine.database.db)).handled >= head;
        },
        { message: 'the projector at the head', timeout: 60_000 },
      )
      .toBe(true);
    const verify = await runCli(['verify'], env);
    expect(verify.stdout).toMatch(/^equal: /);
    expect(verify.code).toBe(0);
  }, 300_000);

  it('reports projection lag and throughput in the NATS service stats', async () => {
    const projectorStats = async () => (await t.serviceStats())?.projector;
    let stats: any;
    await expect
      .poll(
        async () => {
          stats = await projectorStats();
          return stats?.lagEvents === 0;
        },
        { message: 'lag 0 in the stats', timeout: 60_000 },
      )
      .toBe(true);
    expect(stats).toMatchObject({
      leader: true,
      lagEvents: 0,
      lagSeconds: 0,
      eventsPerSecond: expect.any(Number),
      eventsProjected: expect.any(Number),
    });
  }, 60_000);

  it('--dry-run builds and verifies without switching', async () => {
    const before = await tableOid(t);
    const dryRun = await runCli(['rebuild', '--dry-run'], env);
    expect(dryRun.stdout).toMatch(/^equal: /);
    expect(dryRun.code).toBe(0);
    expect(await tableOid(t)).toBe(before);
  }, 120_000);

  it('shows a progress bar on a terminal', async () => {
    // `script` runs the rebuild on a pseudo-terminal and copies what it showed.
    const command = cliCommand(['rebuild', '--batch-size', '500'])
      .map((part) => `'${part}'`)
      .join(' ');
    const onTerminal = await runCli([], env, {
      command: ['script', '-qec', command, '/dev/null'],
    });
    expect(onTerminal.code).toBe(0);
    const screen = onTerminal.stdout;
    expect(screen).toMatch(
      /\rrebuild \[[█░]{28}\] [\d,]+\/[\d,]+ events {2}[\d.]+% {2}[\d,]+ ev\/s {2}ETA \d+:\d\d/,
    );
    expect(screen).toMatch(/\[█{28}\] ([\d,]+)\/\1 events {2}100\.0%/);
    expect(screen).toMatch(/rebuilt [\d,]+ rows from [\d,]+ events/);
    expect(screen).not.toContain('"msg":"rebuild progress"');
  }, 120_000);
});
