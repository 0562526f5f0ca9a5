import { type Config, migrateToLatest } from '@im/api';
import { appendInTransaction, appendToStream, openDatabase } from '@im/eventstore';
import {
  acquireLeases,
  type EngineDatabase,
  type EngineSchema,
  ensureLayout,
  projectorLease,
} from '@im/projector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configEnv, runCli } from './support/cli-process.ts';
import { testConfig } from './support/harness.ts';
import { holdOpen } from './support/hold-open.ts';

const noted = (name: string) => [{ type: 'Noted', data: { name } }];

describe('the CLI', () => {
  let config: Config;
  let env: Record<string, string>;
  let database: EngineDatabase;
  beforeAll(async () => {
    config = await testConfig();
    env = configEnv(config);
    database = await openDatabase<EngineSchema>({ url: config.DATABASE_URL, poolSize: 4 });
    await migrateToLatest(database);
    await ensureLayout(database.db, 4);
  });
  afterAll(() => database.close());

  it('answers --help for every command with exit 0, and usage errors with exit 2', async () => {
    const commands = ['start', 'migrate', 'rebuild', 'verify', 'status', 'request', 'watch'];
    const helps = await Promise.all(commands.map((command) => runCli([command, '--help'], env)));
    helps.forEach((help, i) => {
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`usage: pnpm cli ${commands[i]}`);
      expect(help.stdout).toMatch(/exit codes: 0 /);
    });
    expect(helps[2]?.stdout).toContain('--dry-run');

    const [top, none, unknown, badOption, badValue, badPartition] = await Promise.all([
      runCli(['--help'], env),
      runCli([], env),
      runCli(['rebiuld'], env),
      runCli(['verify', '--fast'], env),
      runCli(['rebuild', '--batch-size', '0'], env),
      runCli(['verify', '--partition', 'one'], env),
    ]);
    expect(top.code).toBe(0);
    for (const command of commands) expect(top.stdout).toContain(`  ${command} `);
    expect(none.code).toBe(2);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command: rebiuld');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("Unknown option '--fast'");
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('--batch-size: expected a positive integer, got 0');
    expect(badPartition.code).toBe(2);
    expect(badPartition.stderr).toContain(
      '--partition: expected a partition number from 0, got one',
    );
  }, 120_000);

  it('fails with exit 1 when the database is unreachable', async () => {
    const down = await runCli(['status'], {
      ...env,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('"msg":"fatal"');
  }, 60_000);

  it('status shows the head, the partitions, the checkpoint, the lag, who holds which partitions, and a transaction that holds the projectors back', async () => {
    await appendToStream(database.db, 'first', noted('first'), { expectedVersion: 0 });
    await acquireLeases(database.db, {
      names: [0, 1, 3].map(projectorLease),
      holder: 'host-1:42',
      ttlMs: 60_000,
    });
    const held = holdOpen(database, async (tx) => {
      await appendInTransaction(tx, 'slow', noted('slow'), { expectedVersion: 0 });
    });
    await held.started;
    await appendToStream(database.db, 'later', noted('later'), { expectedVersion: 0 });

    const text = await runCli(['status'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^log head {5}tx \d+, position \d+ \(2 events\)$/m);
    expect(text.stdout).toMatch(/^partitions {3}4$/m);
    expect(text.stdout).toContain('checkpoint   tx 0, position 0, 0 events handled');
    expect(text.stdout).toMatch(/^lag {10}2 events, [\d.]+ s$/m);
    expect(text.stdout).toMatch(/^projector {4}host-1:42 holds 0–1, 3 \(leases until /m);
    expect(text.stdout).toMatch(/^projector {4}none active for 2$/m);
    expect(text.stdout).toMatch(
      /^held back {4}1 committed events wait for an older append still running: pid \d+ in database /m,
    );

    const json = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(json).toMatchObject({
      events: 2,
      partitions: 4,
      checkpoint: { handled: 0 },
      lag: { events: 2 },
      holders: [{ holder: 'host-1:42', partitions: [0, 1, 3] }],
      unheld: [2],
    });
    expect(json.partitionStatus).toHaveLength(4);
    expect(json.partitionStatus[0]).toMatchObject({ id: 0, lagEvents: 2, holder: 'host-1:42' });
    // "later" waits for "slow"; transactions of other tests, which append nothing here, do not count.
    expect(json.lag.withheld).toBe(1);
    expect(json.lag.heldBackBy.pid).toEqual(expect.any(Number));

    await held.commit();
  }, 60_000);
});
