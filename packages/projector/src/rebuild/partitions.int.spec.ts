import {
  groupConversationID,
  type MessageRecorded,
  partitionOf,
  silentLogger,
  streams,
} from '@im/domain';
import { appendToStream } from '@im/eventstore';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import { appendWorkload, workload } from '../../../../test/support/projector-workload.ts';
import { earliestOf, liveCheckpoints } from '../projection/checkpoints.ts';
import { ensureLayout, readLayout } from '../projection/layout.ts';
import { acquireLeases } from '../projection/lease.ts';
import { projectBatch } from '../projection/project-batch.ts';
import { projectorLease } from '../read-model/names.ts';
import { getConversationStates } from '../read-model/queries.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { rebuildReadModel } from './rebuild.ts';
import { rebuildPartition } from './rebuild-partition.ts';
import { verifyReadModel } from './verify.ts';

const logger = silentLogger;
const HOLDER = 'partition-test';
const COUNT = 4;

const migrated = async (): Promise<EngineDatabase> => {
  const database = await openEngineDatabase();
  await ensureLayout(database.db, COUNT);
  return database;
};

/** Projects `partitions` in batches of `batchSize` until their furthest-behind one counted `upTo`. */
const project = async (
  database: EngineDatabase,
  partitions: number[],
  options: { upTo?: number; batchSize?: number } = {},
) => {
  await acquireLeases(database.db, {
    names: partitions.map(projectorLease),
    holder: HOLDER,
    ttlMs: 60_000,
  });
  for (;;) {
    const all = await liveCheckpoints(database.db, COUNT);
    const mine = new Map([...all].filter(([p]) => partitions.includes(p)));
    if (options.upTo !== undefined && earliestOf(mine).handled >= options.upTo) return;
    const batch = await projectBatch(database, {
      holder: HOLDER,
      partitionCount: COUNT,
      partitions,
      batchSize: options.batchSize ?? 200,
      outboxAfter: undefined,
    });
    if (batch.events === 0) return;
  }
};

/** Every row but its partition, in key order. */
const rows = async (database: EngineDatabase, where = sql`true`) =>
  (
    await sql<Record<string, unknown>>`
      SELECT * FROM conversation_item WHERE ${where} ORDER BY owner, conversation_id`.execute(
      database.db,
    )
  ).rows.map(({ partition: _, ...row }) => row);

describe('partitions projected apart', () => {
  let apart: EngineDatabase;
  let together: EngineDatabase;
  const appends = workload({ events: 3000, users: 80, groups: 6, seed: 11 });
  const events = appends.reduce((sum, append) => sum + append.events.length, 0);

  beforeAll(async () => {
    apart = await migrated();
    together = await migrated();
    await appendWorkload(apart.db, appends, { concurrency: 1 });
    await appendWorkload(together.db, appends, { concurrency: 1 });
    await project(together, [0, 1, 2, 3]);
  });
  afterAll(async () => {
    await apart.close();
    await together.close();
  });

  it('each partition has its owners’ rows, as one projection of all of them would', async () => {
    await project(apart, [0, 1]);
    await project(apart, [3], { batchSize: 50 });
    await project(apart, [2], { batchSize: 150 });
    expect(await rows(apart)).toEqual(await rows(together));
    const misplaced = await sql<{ owner: string; partition: number }>`
      SELECT owner, partition FROM conversation_item`.execute(apart.db);
    for (const row of misplaced.rows) expect(row.partition).toBe(partitionOf(row.owner, COUNT));
    expect((await verifyReadModel({ database: apart, logger })).equal).toBe(true);
  });

  it('verify compares each partition where its own projector stands', async () => {
    const more = workload({ events: 600, users: 80, groups: 6, seed: 12 }).map((append) => ({
      ...append,
      expectedVersion: 'any' as const,
    }));
    await appendWorkload(apart.db, more, { concurrency: 1 });
    // Partition 1 catches up with part of the new events, partition 2 with all of them.
    await project(apart, [1], { upTo: events + 200, batchSize: 100 });
    await project(apart, [2]);
    const checkpoints = await liveCheckpoints(apart.db, COUNT);
    expect(new Set([...checkpoints.values()].map((c) => c.handled)).size).toBe(3);
    const verified = await verifyReadModel({ database: apart, logger, batchSize: 70 });
    expect(verified.differingCheckpoints).toEqual([]);
    expect(verified.equal).toBe(true);

    // A checkpoint that does not count its events as the log has them is found out.
    await sql`UPDATE checkpoints SET handled = handled + 1 WHERE name = 'projector:1'`.execute(
      apart.db,
    );
    const drifted = await verifyReadModel({ database: apart, logger });
    expect(drifted.equal).toBe(false);
    expect(drifted.differingCheckpoints).toEqual([1]);
    // One partition verified alone: its rows and its checkpoint, none of the others'.
    const one = await verifyReadModel({ database: apart, logger, only: 1 });
    expect(one.equal).toBe(false);
    expect(one.differingCheckpoints).toEqual([1]);
    const other = await verifyReadModel({ database: apart, logger, only: 2 });
    expect(other.equal).toBe(true);
    const inTwo = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM conversation_item WHERE partition = 2`.execute(apart.db);
    expect(other.comparison.liveRows).toBe(inTwo.rows[0]?.n);
    expect(other.comparison.rebuiltRows).toBe(inTwo.rows[0]?.n);
    expect(other.comparison.liveRows).toBeGreaterThan(0);
    await sql`UPDATE checkpoints SET handled = handled - 1 WHERE name = 'projector:1'`.execute(
      apart.db,
    );
  });

  it('a rebuild of one partition mends its rows and totals in place and leaves the others as they are', async () => {
    const pickRow = async (partition: number) =>
      (
        await sql<{ owner: string; conversation_id: string }>`
          SELECT owner, conversation_id FROM conversation_item WHERE partition = ${partition}
          ORDER BY owner, conversation_id LIMIT 1`.execute(apart.db)
      ).rows[0] as { owner: string; conversation_id: string };
    const spoil = async (partition: number) => {
      const row = await pickRow(partition);
      await sql`UPDATE conversation_item SET is_pinned = NOT is_pinned
                WHERE owner = ${row.owner} AND conversation_id = ${row.conversation_id}`.execute(
        apart.db,
      );
      await sql`INSERT INTO owner_unread (owner, total) VALUES (${row.owner}, 12345)
                ON CONFLICT (owner) DO UPDATE SET total = 12345`.execute(apart.db);
      return row;
    };
    const inTwo = await rows(apart, sql`partition = 2`);
    await spoil(2);
    await spoil(3);
    expect((await verifyReadModel({ database: apart, logger, only: 2 })).equal).toBe(false);
    const otherRows = await rows(apart, sql`partition <> 2`);

    const rebuilt = await rebuildPartition({ database: apart, logger, only: 2 });
    expect(rebuilt.rows).toBe(inTwo.length);
    expect(await rows(apart, sql`partition = 2`)).toEqual(inTwo);
    expect(await rows(apart, sql`partition <> 2`)).toEqual(otherRows);
    expect((await verifyReadModel({ database: apart, logger, only: 2 })).equal).toBe(true);
    // Partition 2 stands at the log's head now; partition 3 is still spoilt, until its turn.
    expect((await liveCheckpoints(apart.db, COUNT)).get(2)).toEqual(rebuilt.checkpoint);
    expect((await verifyReadModel({ database: apart, logger, only: 3 })).equal).toBe(false);
    await rebuildPartition({ database: apart, logger, only: 3 });
    expect((await verifyReadModel({ database: apart, logger })).equal).toBe(true);
    await expect(rebuildPartition({ database: apart, logger, only: COUNT })).rejects.toThrow(
      RangeError,
    );
  });

  it('a rebuild for another number of partitions keeps every row and version and moves rows to their owners’ partitions', async () => {
    await project(apart, [0, 1, 2, 3]);
    const before = await rows(apart);
    // Outbox rows are their partitions': a new number waits until the publishers sent them.
    await expect(
      rebuildReadModel({ database: apart, logger, partitions: 8, outboxDrainMs: 200 }),
    ).rejects.toThrow(/callbacks are still to be published after 0.2 s/);
    expect(await readLayout(apart.db)).toEqual({ partitions: COUNT });
    await sql`DELETE FROM conversation_change`.execute(apart.db);
    for (const count of [8, 1, COUNT]) {
      const rebuilt = await rebuildReadModel({ database: apart, logger, partitions: count });
      expect(rebuilt.partitions).toBe(count);
      expect(await readLayout(apart.db)).toEqual({ partitions: count });
      expect(await rows(apart)).toEqual(before);
      const placed = await sql<{ owner: string; partition: number }>`
        SELECT owner, partition FROM conversation_item`.execute(apart.db);
      for (const row of placed.rows) expect(row.partition).toBe(partitionOf(row.owner, count));
      const checkpoints = await liveCheckpoints(apart.db, count);
      expect(checkpoints.size).toBe(count);
      for (const checkpoint of checkpoints.values()) expect(checkpoint).toEqual(rebuilt.checkpoint);
      expect((await verifyReadModel({ database: apart, logger })).equal).toBe(true);
    }
  });
});

describe('a partition’s first member of a group', () => {
  let database: EngineDatabase;
  const groupID = 'race';
  const conversationID = groupConversationID(groupID);
  /** Three users: `first` and `same` in one partition, `other` in another. */
  const users = (() => {
    const ids = Array.from({ length: 50 }, (_, i) => `user${i}`);
    const first = ids[0] as string;
    const same = ids.find(
      (id) => id !== first && partitionOf(id, COUNT) === partitionOf(first, COUNT),
    );
    const other = ids.find((id) => partitionOf(id, COUNT) !== partitionOf(first, COUNT));
    return { first, same: same as string, other: other as string };
  })();
  const message = (seq: number): MessageRecorded => ({
    type: 'MessageRecorded',
    data: {
      conversationID,
      conversationType: 3,
      message: {
        clientMsgID: `m${seq}`,
        serverMsgID: '',
        sendID: users.first,
        recvID: '',
        groupID,
        sessionType: 3,
        contentType: 101,
        content: `message ${seq}`,
        sendTime: 1_700_000_000_000 + seq,
        seq,
      },
      atUserIDList: seq === 1 ? ['AtAllTag'] : [],
    },
  });

  beforeAll(async () => {
    database = await migrated();
  });
  afterAll(() => database.close());

  it('sees a message that committed behind its join, as a member in a partition with members does', async () => {
    const group = streams.group(groupID);
    const messages = streams.messages(conversationID);
    await appendToStream(
      database.db,
      group,
      [{ type: 'GroupMembersJoined', data: { groupID, userIDs: [users.first], maxSeq: 0 } }],
      { expectedVersion: 0 },
    );
    await appendToStream(database.db, messages, [message(1)], { expectedVersion: 0 });
    // Decided when the group's maxSeq was 0, appended after message 1.
    await appendToStream(
      database.db,
      group,
      [
        {
          type: 'GroupMembersJoined',
          data: { groupID, userIDs: [users.same, users.other], maxSeq: 0 },
        },
      ],
      { expectedVersion: 1 },
    );
    await project(database, [0, 1, 2, 3]);
    const [same] = await getConversationStates(database.db, users.same, [conversationID]);
    const [other] = await getConversationStates(database.db, users.other, [conversationID]);
    expect(same).toMatchObject({ maxSeq: 1, isHidden: false, groupAtType: 2 });
    expect(other).toEqual({ ...same, owner: users.other });

    await appendToStream(database.db, messages, [message(2)], { expectedVersion: 1 });
    await project(database, [0, 1, 2, 3]);
    const [later] = await getConversationStates(database.db, users.other, [conversationID]);
    expect(later).toMatchObject({ maxSeq: 2, isHidden: false, groupAtType: 2 });
    expect((await verifyReadModel({ database, logger })).equal).toBe(true);
  });
});
