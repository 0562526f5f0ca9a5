import { recordingLogger } from '@im/domain';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigratedDatabase } from '../../../test/support/migrated-database.ts';
import { appendToStream } from './append.ts';
import { createAppendQueue } from './append-queue.ts';
import type { Database } from './database.ts';
import { eventStoreMigrations } from './migrations.ts';

const event = (name: string, idempotencyKey?: string) => ({
  type: 'Noted',
  data: { name },
  idempotencyKey,
});

describe('the append queue', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openMigratedDatabase(eventStoreMigrations);
  });
  afterAll(() => database.close());

  /** The transaction each named event was appended in. */
  const transactions = async (prefix: string) =>
    new Map(
      (
        await sql<{ name: string; tx: string }>`
          SELECT data->>'name' AS name, transaction_id::text AS tx FROM events
          WHERE starts_with(stream_id, ${prefix})`.execute(database.db)
      ).rows.map((row) => [row.name, row.tx]),
    );

  it('writes appends that arrive together in one statement and one transaction', async () => {
    const queue = createAppendQueue(database.db);
    const outcomes = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        queue.append(`t1-${name}`, [event(name)], { expectedVersion: 0 }),
      ),
    );
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(new Set((await transactions('t1-')).values()).size).toBe(1);
  });

  it('splits a burst: a stream at most once a statement, and at most maxBatch appends a statement', async () => {
    const queue = createAppendQueue(database.db, { maxBatch: 3 });
    const outcomes = await Promise.all([
      queue.append('t2-x', [event('x1')], { expectedVersion: 0 }),
      queue.append('t2-x', [event('x2')], { expectedVersion: 1 }),
      queue.append('t2-y', [event('y1')], { expectedVersion: 0 }),
      queue.append('t2-z', [event('z1')], { expectedVersion: 0 }),
      queue.append('t2-w', [event('w1')], { expectedVersion: 0 }),
    ]);
    // Each append saw the version the one before it left, so all of them went through.
    expect(outcomes.map((outcome) => outcome.ok && outcome.value.nextVersion)).toEqual([
      1, 2, 1, 1, 1,
    ]);
    const tx = await transactions('t2-');
    // The first batch took x1, y1, z1 (x2 waits for x1); the next took x2 and w1.
    expect(tx.get('x1')).toBe(tx.get('y1'));
    expect(tx.get('x1')).toBe(tx.get('z1'));
    expect(tx.get('x2')).toBe(tx.get('w1'));
    expect(tx.get('x2')).not.toBe(tx.get('x1'));
  });

  it('answers a repeated idempotency key as a duplicate in the batch, the rest of it appended', async () => {
    await appendToStream(database.db, 't3-dup', [event('d1', 'key-1')], { expectedVersion: 0 });
    const logger = recordingLogger();
    const queue = createAppendQueue(database.db, { logger });
    const outcomes = await Promise.all([
      queue.append('t3-a', [event('a1')], { expectedVersion: 0 }),
      queue.append('t3-dup', [event('d2', 'key-1')], { expectedVersion: 1 }),
      queue.append('t3-b', [event('b1')], { expectedVersion: 7 }),
    ]);
    expect(outcomes.map((o) => (o.ok ? o.value.nextVersion : o.error.kind))).toEqual([
      1,
      'duplicate',
      'conflict',
    ]);
    // Found before anything was written: no statement failed, none was sent again.
    expect(logger.entries).toEqual([]);
  });

  it('appends a failed batch again one by one, each with its own answer, and logs it', async () => {
    const logger = recordingLogger();
    const queue = createAppendQueue(database.db, { logger });
    const outcomes = await Promise.allSettled([
      queue.append('t5-a', [event('a1')], { expectedVersion: 0 }),
      // PostgreSQL's text holds no NUL: this append fails the statement it is in.
      queue.append('t5-bad', [{ type: 'No\u0000ted', data: {} }], { expectedVersion: 0 }),
      queue.append('t5-b', [event('b1')], { expectedVersion: 7 }),
    ]);
    expect(
      outcomes.map((o) =>
        o.status === 'rejected'
          ? 'failed'
          : o.value.ok
            ? o.value.value.nextVersion
            : o.value.error.kind,
      ),
    ).toEqual([1, 'failed', 'conflict']);
    expect(logger.entries).toEqual([
      expect.objectContaining({
        msg: 'append batch failed; appending one by one',
        fields: expect.objectContaining({ appends: 3 }),
      }),
    ]);
  });

  it('sends an append that comes alone at once, on its own', async () => {
    const logger = recordingLogger();
    const queue = createAppendQueue(database.db, { logger });
    const outcome = await queue.append('t4-alone', [event('alone')], { expectedVersion: 0 });
    expect(outcome.ok && outcome.value.nextVersion).toBe(1);
    expect(logger.entries).toEqual([]);
  });
});
