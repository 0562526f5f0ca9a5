import { silentLogger } from '@im/domain';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import { groupBurst } from '../../../../test/support/group-burst.ts';
import { createTestDatabase } from '../../../../test/support/harness.ts';
import { appendWorkload, workload } from '../../../../test/support/projector-workload.ts';
import { ChangeKind } from '../callbacks/outbox.ts';
import { earliestOf, liveCheckpoints } from '../projection/checkpoints.ts';
import { ensureLayout } from '../projection/layout.ts';
import { acquireLeases } from '../projection/lease.ts';
import { projectBatch } from '../projection/project-batch.ts';
import { projectorLease } from '../read-model/names.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { rebuildReadModel } from './rebuild.ts';
import { verifyReadModel } from './verify.ts';

const logger = silentLogger;
const HOLDER = 'live-projector';
const countOf = (appends: ReturnType<typeof workload>) =>
  appends.reduce((sum, append) => sum + append.events.length, 0);

/** The read models here are split in four partitions, projected together. */
const PARTITIONS = [0, 1, 2, 3];

const migratedDatabase = async (url?: string): Promise<EngineDatabase> => {
  const database = await openEngineDatabase(url);
  await ensureLayout(database.db, PARTITIONS.length);
  return database;
};

/** Where the projection stands: the partition furthest behind. */
const checkpointOf = async (database: EngineDatabase) =>
  earliestOf(await liveCheckpoints(database.db, PARTITIONS.length));

/** Runs the live projector's batches until `handled` events are projected (or the log's end). */
const projectUntil = async (database: EngineDatabase, handled: number, batchSize = 250) => {
  const names = PARTITIONS.map(projectorLease);
  await acquireLeases(database.db, { names, holder: HOLDER, ttlMs: 60_000 });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const checkpoint = await checkpointOf(database);
    if (checkpoint.handled >= handled) return checkpoint;
    if (Date.now() > deadline) throw new Error(`projector stuck at ${checkpoint.handled}`);
    await projectBatch(database, {
      holder: HOLDER,
      partitionCount: PARTITIONS.length,
      partitions: PARTITIONS,
      batchSize,
      outboxAfter: undefined,
    });
  }
};

const rows = async (database: EngineDatabase) =>
  (
    await sql<Record<string, unknown>>`
      SELECT * FROM conversation_item ORDER BY owner, conversation_id`.execute(database.db)
  ).rows;

const outbox = async (database: EngineDatabase) =>
  (
    await sql<{
      owner: string;
      conversation_id: string;
      version: number;
      kind: number;
      total_changed: boolean;
      seq: number;
      previous_max_seq: number;
    }>`SELECT owner, conversation_id, version, kind, total_changed, seq, previous_max_seq
       FROM conversation_change ORDER BY id`.execute(database.db)
  ).rows;

const tables = async (database: EngineDatabase) =>
  (
    await sql<{ name: string }>`
      SELECT relname AS name FROM pg_class
      WHERE relnamespace = 'public'::regnamespace
        AND (relname LIKE 'conversation_item%' OR relname LIKE 'group_state%')
      ORDER BY relname`.execute(database.db)
  ).rows.map((row) => row.name);

describe('rebuild and verify against the live projector', () => {
  let database: EngineDatabase;
  const appends = workload({ events: 3000, users: 60, groups: 5 });
  const EVENTS = countOf(appends);
  beforeAll(async () => {
    database = await migratedDatabase();
    await appendWorkload(database.db, appends);
    await projectUntil(database, EVENTS);
  });
  afterAll(() => database.close());

  it('verify finds a fresh rebuild equal to what the live projector built', async () => {
    const result = await verifyReadModel({ database, logger });
    // Totals kept batch by batch equal the sums over the rows, groups and mutes included.
    expect(result.comparison).toMatchObject({
      equal: true,
      onlyInLive: 0,
      onlyInRebuild: 0,
      driftedTotals: 0,
    });
    expect(result.equal).toBe(true);
    expect(result.rebuiltHandled).toBe(result.checkpoint.handled);
    expect(result.comparison.liveRows).toBeGreaterThan(100);
    expect(await tables(database)).toEqual([
      'conversation_item',
      'conversation_item_destruct',
      'conversation_item_grouped',
      'conversation_item_groups',
      'conversation_item_list',
      'conversation_item_members',
      'conversation_item_pkey',
      'conversation_item_timed',
      'conversation_item_version',
      'group_state',
      'group_state_pkey',
    ]);
  });

  it('verify reports a stored total that is not the sum over its rows', async () => {
    const owner = (
      await sql<{ owner: string }>`SELECT owner FROM owner_unread ORDER BY owner LIMIT 1`.execute(
        database.db,
      )
    ).rows[0]?.owner as string;
    await sql`UPDATE owner_unread SET total = total + 5 WHERE owner = ${owner}`.execute(
      database.db,
    );
    const drifted = await verifyReadModel({ database, logger });
    expect(drifted.equal).toBe(false);
    expect(drifted.comparison).toMatchObject({ onlyInLive: 0, onlyInRebuild: 0, driftedTotals: 1 });
    await sql`UPDATE owner_unread SET total = total - 5 WHERE owner = ${owner}`.execute(
      database.db,
    );
  });

  it('verify reports a drifted read model with counts and the differing keys', async () => {
    const [changed, removed] = (
      await sql<{ owner: string; conversation_id: string }>`
        SELECT owner, conversation_id FROM conversation_item ORDER BY owner, conversation_id LIMIT 2`.execute(
        database.db,
      )
    ).rows as [
      { owner: string; conversation_id: string },
      { owner: string; conversation_id: string },
    ];
    await sql`UPDATE conversation_item SET has_read_seq = has_read_seq + 1000
              WHERE owner = ${changed.owner} AND conversation_id = ${changed.conversation_id}`.execute(
      database.db,
    );
    await sql`DELETE FROM conversation_item
              WHERE owner = ${removed.owner} AND conversation_id = ${removed.conversation_id}`.execute(
      database.db,
    );

    const result = await verifyReadModel({ database, logger });
    expect(result.equal).toBe(false);
    expect(result.comparison).toMatchObject({ onlyInLive: 1, onlyInRebuild: 2 });
    expect(result.comparison.sample).toEqual([
      {
        owner: changed.owner,
        conversationID: changed.conversation_id,
        kind: 'differs',
        fields: ['hasReadSeq'],
      },
      {
        owner: removed.owner,
        conversationID: removed.conversation_id,
        kind: 'missing',
        fields: [],
      },
    ]);
  });

  it('rebuild replaces the drifted table, keeps the checkpoint and publishes nothing again', async () => {
    const before = await checkpointOf(database);
    const outboxBefore = (await outbox(database)).length;
    const result = await rebuildReadModel({ database, logger, batchSize: 500 });
    expect(result).toMatchObject({ events: EVENTS, callbacks: 0, checkpoint: before });
    expect(await checkpointOf(database)).toEqual(before);
    expect((await outbox(database)).length).toBe(outboxBefore);
    expect((await verifyReadModel({ database, logger })).equal).toBe(true);
    expect(await tables(database)).toEqual([
      'conversation_item',
      'conversation_item_destruct',
      'conversation_item_grouped',
      'conversation_item_groups',
      'conversation_item_list',
      'conversation_item_members',
      'conversation_item_pkey',
      'conversation_item_timed',
      'conversation_item_version',
      'group_state',
      'group_state_pkey',
    ]);
    // Switched in, the tables survive a crash as the ones they replaced did (none is unlogged).
    const persistence = await sql<{ name: string; persistence: string }>`
      SELECT relname AS name, relpersistence AS persistence FROM pg_class
      WHERE relname IN ('conversation_item', 'group_state', 'conversation_group')
      ORDER BY relname`.execute(database.db);
    expect(persistence.rows).toEqual([
      { name: 'conversation_group', persistence: 'p' },
      { name: 'conversation_item', persistence: 'p' },
      { name: 'group_state', persistence: 'p' },
    ]);
  });

  it('builds the same read model when the rows do not fit in memory', async () => {
    const live = await rows(database);
    const result = await rebuildReadModel({ database, logger, batchSize: 97, cacheRows: 10 });
    expect(result.events).toBe(EVENTS);
    expect(await rows(database)).toEqual(live);
    expect((await verifyReadModel({ database, logger, batchSize: 53, cacheRows: 5 })).equal).toBe(
      true,
    );
  });
});

// One replay thread, and three that split the partitions (each reading the whole log).
describe.each([1, 3])(
  'a rebuild that overtakes the live projector (%i replay threads)',
  (threads) => {
    let full: EngineDatabase;
    let half: EngineDatabase;
    let halfUrl: string;
    const appends = workload({ events: 3000, users: 60, groups: 5, seed: 7 });
    const EVENTS = countOf(appends);
    beforeAll(async () => {
      // Two logs alike event for event: appended one at a time, they read in the same order.
      full = await migratedDatabase();
      halfUrl = await createTestDatabase();
      half = await migratedDatabase(halfUrl);
      await appendWorkload(full.db, appends, { concurrency: 1 });
      await appendWorkload(half.db, appends, { concurrency: 1 });
    });
    afterAll(async () => {
      await full.close();
      await half.close();
    });

    it('ends with the read model and versions the projector would have built, and outbox changes for the rest of the events', async () => {
      await projectUntil(full, EVENTS);
      const live = await projectUntil(half, Math.floor(EVENTS / 2));
      expect(live.handled).toBeLessThan(EVENTS);

      const replay = { logger, batchSize: 400, databaseUrl: halfUrl, threads };
      const result = await rebuildReadModel({ database: half, ...replay });
      expect(result.replaced).toEqual(live);
      // Transaction ids differ between the two databases; positions and counts do not.
      const projected = await checkpointOf(full);
      expect(result.checkpoint.handled).toBe(projected.handled);
      expect(result.checkpoint.position.globalPosition).toBe(projected.position.globalPosition);
      expect(await rows(half)).toEqual(await rows(full));

      // What the projector wrote, then for the events it had not reached one change per row and
      // each group message, in version order.
      const expected = await outbox(full);
      const written = await outbox(half);
      const projectedPart = expected.filter((change) => change.version <= live.handled);
      expect(written.slice(0, projectedPart.length)).toEqual(projectedPart);
      const rest = written.slice(projectedPart.length);
      expect(rest.map((c) => c.version)).toEqual(
        [...rest.map((c) => c.version)].sort((a, b) => a - b),
      );
      const isGroup = (c: { kind: number }) => c.kind === ChangeKind.group;
      expect(rest.filter(isGroup)).toEqual(
        expected.filter((c) => c.version > live.handled && isGroup(c)),
      );
      const bursts = new Map<string, typeof expected>();
      for (const change of expected.filter((c) => c.version > live.handled && !isGroup(c))) {
        const key = `${change.owner}/${change.conversation_id}`;
        bursts.set(key, [...(bursts.get(key) ?? []), change]);
      }
      expect(rest.filter((c) => !isGroup(c)).length).toBe(bursts.size);
      for (const change of rest.filter((c) => !isGroup(c))) {
        const burst = bursts.get(`${change.owner}/${change.conversation_id}`) ?? [];
        const last = burst.at(-1);
        const lastTurn = burst.filter((c) => c.kind !== ChangeKind.changed).at(-1);
        expect(change.version).toBe(last?.version);
        expect(change.kind).toBe(
          last?.kind === ChangeKind.changed && lastTurn?.kind === ChangeKind.entered
            ? ChangeKind.entered
            : last?.kind,
        );
        expect(change.total_changed).toBe(burst.some((c) => c.total_changed));
      }
      expect((await verifyReadModel({ database: half, ...replay })).equal).toBe(true);
    });
  },
);

describe('a 10,000-member group’s burst', () => {
  let database: EngineDatabase;
  const appends = groupBurst({ members: 10_000, messages: 40 });
  beforeAll(async () => {
    database = await migratedDatabase();
    await appendWorkload(database.db, appends, { concurrency: 1 });
    await projectUntil(database, countOf(appends), 100);
  }, 120_000);
  afterAll(() => database.close());

  it('leaves a read model that verify finds equal to a rebuild, and that a rebuild reproduces', async () => {
    const verified = await verifyReadModel({ database, logger });
    expect(verified.comparison).toMatchObject({
      onlyInLive: 0,
      onlyInRebuild: 0,
      differingGroups: 0,
    });
    expect(verified.equal).toBe(true);
    expect(verified.comparison.liveRows).toBe(10_000);
    const before = await rows(database);
    await rebuildReadModel({ database, logger });
    expect(await rows(database)).toEqual(before);
    expect((await verifyReadModel({ database, logger })).equal).toBe(true);
  }, 120_000);
});
