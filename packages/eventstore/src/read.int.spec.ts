import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/harness.ts';
import { holdOpen } from '../../../test/support/hold-open.ts';
import { openMigratedDatabase } from '../../../test/support/migrated-database.ts';
import { appendInTransaction, appendToStream, lockStream } from './append.ts';
import type { Database } from './database.ts';
import { eventStoreMigrations } from './migrations.ts';
import { comparePositions, LOG_START, type LogPosition } from './position.ts';
import { readEventsAfter, type StoredEvent } from './read.ts';

const event = (name: string) => ({ type: 'Noted', data: { name } });
const names = (events: readonly StoredEvent[]) =>
  events.map((e) => (e.data as { name: string }).name);

/**
 * Follows the log as a projector does, from a position a page at a time, until `count` events
 * came. An append still running holds readers back for a moment, so an empty page means "not
 * yet", never "done".
 */
const readUntil = async (
  database: Database,
  from: LogPosition,
  count: number,
  pageSize: number,
): Promise<{ seen: StoredEvent[]; position: LogPosition }> => {
  const seen: StoredEvent[] = [];
  let position = from;
  const deadline = Date.now() + 20_000;
  while (seen.length < count && Date.now() < deadline) {
    const page = await readEventsAfter(database.db, position, { limit: pageSize });
    seen.push(...page);
    if (page.length > 0) position = (page.at(-1) as StoredEvent).position;
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { seen, position };
};

describe('reading the log in order without gaps', () => {
  let database: Database;
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase();
    database = await openMigratedDatabase(eventStoreMigrations, url);
  });
  afterAll(() => database.close());

  it('withholds events committed after an earlier transaction that is still open, then returns them all in order', async () => {
    await appendToStream(database.db, 'first', [event('first')], { expectedVersion: 0 });
    const checkpoint = (await readUntil(database, LOG_START, 1, 10)).position;

    // A takes its global position first, then stays open while B and C commit.
    const a = holdOpen(database, async (tx) => {
      const appended = await appendInTransaction(tx, 'a', [event('a1')], { expectedVersion: 0 });
      expect(appended.ok).toBe(true);
    });
    await a.started;
    await appendToStream(database.db, 'b', [event('b1')], { expectedVersion: 0 });
    await appendToStream(database.db, 'c', [event('c1'), event('c2')], { expectedVersion: 0 });

    const whileOpen = await readEventsAfter(database.db, checkpoint, { limit: 100 });
    expect(names(whileOpen)).toEqual([]);

    await a.commit();
    const afterCommit = await readUntil(database, checkpoint, 4, 1);
    expect(names(afterCommit.seen)).toEqual(['a1', 'b1', 'c1', 'c2']);
    // The same order on every read, whatever the page size.
    expect(names(await readEventsAfter(database.db, checkpoint, { limit: 100 }))).toEqual([
      'a1',
      'b1',
      'c1',
      'c2',
    ]);
  });

  it('orders by transaction: one that took its id first reads first, whatever its global position', async () => {
    const checkpoint = (await readUntil(database, LOG_START, 5, 100)).position;
    // A takes its transaction id (the stream lock writes), but appends its event only later.
    let appendInA: () => Promise<void> = async () => {};
    const a = holdOpen(database, async (tx) => {
      await lockStream(tx, 'late');
      appendInA = async () => {
        const appended = await appendInTransaction(tx, 'late', [event('late')], {
          expectedVersion: 0,
        });
        expect(appended.ok).toBe(true);
      };
    });
    await a.started;
    const early = await appendToStream(database.db, 'early', [event('early')], {
      expectedVersion: 0,
    });
    expect(await readEventsAfter(database.db, checkpoint, { limit: 100 })).toEqual([]);
    await appendInA();
    await a.commit();

    const read = (await readUntil(database, checkpoint, 2, 100)).seen;
    expect(names(read)).toEqual(['late', 'early']);
    const [late, next] = read as [StoredEvent, StoredEvent];
    // "late" has the higher global position but the older transaction.
    expect(late.position.globalPosition).toBeGreaterThan(
      early.ok ? early.value.lastPosition.globalPosition : Number.POSITIVE_INFINITY,
    );
    expect(comparePositions(late.position, next.position)).toBeLessThan(0);
  });

  it('a follower reading small pages while many writers commit out of order sees every event once', async () => {
    const start = (await readUntil(database, LOG_START, 7, 100)).position;
    const writers = 12;
    const appendsEach = 8;
    const follower = readUntil(database, start, writers * appendsEach, 3);
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let i = 0; i < appendsEach; i++) {
          // Some transactions stay open a while, so later ones commit before them.
          await database.db.transaction().execute(async (tx) => {
            await appendInTransaction(tx, `w${writer}`, [event(`w${writer}-${i}`)], {
              expectedVersion: i,
            });
            if ((writer + i) % 3 === 0) await new Promise((r) => setTimeout(r, 5 + writer));
          });
        }
      }),
    );
    const { seen } = await follower;

    const all = await readEventsAfter(database.db, start, { limit: 1000 });
    expect(all).toHaveLength(writers * appendsEach);
    expect(names(seen)).toEqual(names(all));
    for (let i = 1; i < seen.length; i++) {
      expect(
        comparePositions((seen[i - 1] as StoredEvent).position, (seen[i] as StoredEvent).position),
      ).toBeLessThan(0);
    }
  });

  it('is held back by no transaction that does not append: one that wrote elsewhere, here or in another database', async () => {
    const start = (await readUntil(database, LOG_START, 7 + 12 * 8, 1000)).position;
    // A session of this database and one of another database of the cluster, each idle in a
    // transaction that has a transaction id, as a batch job or a forgotten psql session would.
    const sessions = [
      new pg.Client({ connectionString: url }),
      new pg.Client({ connectionString: inject('adminDatabaseUrl') }),
    ];
    for (const session of sessions) {
      await session.connect();
      await session.query('BEGIN');
      await session.query('SELECT pg_current_xact_id()');
    }
    try {
      await appendToStream(database.db, 'unheld', [event('unheld')], { expectedVersion: 0 });
      expect(names(await readEventsAfter(database.db, start, { limit: 100 }))).toEqual(['unheld']);
    } finally {
      for (const session of sessions) await session.end();
    }
  });
});
