import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigratedDatabase } from '../../../test/support/migrated-database.ts';
import { appendToStream, lockStream, streamVersions } from './append.ts';
import { appendToStreams } from './append-many.ts';
import { createAppendQueue } from './append-queue.ts';
import type { Database } from './database.ts';
import { eventStoreMigrations } from './migrations.ts';

const event = (name: string, idempotencyKey?: string) => ({
  type: 'Noted',
  data: { name },
  idempotencyKey,
});

describe('appending to several streams at once', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openMigratedDatabase(eventStoreMigrations);
  });
  afterAll(() => database.close());

  /** A stream's events in log order: names and positions in the stream. */
  const streamEvents = async (streamId: string) =>
    (
      await sql<{ name: string; stream_position: number }>`
        SELECT data->>'name' AS name, stream_position FROM events
        WHERE stream_id = ${streamId} ORDER BY transaction_id, global_position`.execute(database.db)
    ).rows.map((row) => `${row.stream_position}:${row.name}`);

  it('appends each stream whose version is as expected and answers a conflict for the others', async () => {
    await appendToStream(database.db, 'm-old', [event('o1'), event('o2')], { expectedVersion: 0 });
    await appendToStream(database.db, 'm-moved', [event('x1')], { expectedVersion: 0 });
    // A stream row made by a lock, with no events yet, counts as version 0.
    await database.db.transaction().execute((tx) => lockStream(tx, 'm-locked'));

    const outcomes = await appendToStreams(database.db, [
      { streamId: 'm-new', events: [event('n1'), event('n2'), event('n3')], expectedVersion: 0 },
      { streamId: 'm-old', events: [event('o3')], expectedVersion: 2 },
      { streamId: 'm-moved', events: [event('x2')], expectedVersion: 5 },
      { streamId: 'm-locked', events: [event('l1')], expectedVersion: 0 },
      { streamId: 'm-missing', events: [event('z1')], expectedVersion: 1 },
    ]);

    expect(outcomes.map((o) => (o.ok ? o.value.nextVersion : o.error.kind))).toEqual([
      3,
      3,
      'conflict',
      1,
      'conflict',
    ]);
    expect(await streamEvents('m-new')).toEqual(['1:n1', '2:n2', '3:n3']);
    expect(await streamEvents('m-old')).toEqual(['1:o1', '2:o2', '3:o3']);
    expect(await streamEvents('m-moved')).toEqual(['1:x1']);
    expect(await streamEvents('m-locked')).toEqual(['1:l1']);
    expect(await streamEvents('m-missing')).toEqual([]);
    // Each answer points at its own stream's last event.
    const [newOutcome] = outcomes;
    const last = await sql<{ global_position: number }>`
      SELECT global_position FROM events WHERE stream_id = 'm-new' AND stream_position = 3`.execute(
      database.db,
    );
    expect(newOutcome?.ok && newOutcome.value.lastPosition.globalPosition).toBe(
      last.rows[0]?.global_position,
    );
  });

  it('through the queue, answers a repeated idempotency key as a duplicate and appends the rest of its batch', async () => {
    await appendToStream(database.db, 'q-dup', [event('d1', 'key-1')], { expectedVersion: 0 });
    const queue = createAppendQueue(database.db);
    const outcomes = await Promise.all([
      queue.append('q-a', [event('a1')], { expectedVersion: 0 }),
      queue.append('q-dup', [event('d2', 'key-1')], { expectedVersion: 1 }),
      queue.append('q-b', [event('b1')], { expectedVersion: 0 }),
      queue.append('q-a', [event('a2')], { expectedVersion: 1 }),
    ]);
    expect(outcomes.map((o) => (o.ok ? o.value.nextVersion : o.error.kind))).toEqual([
      1,
      'duplicate',
      1,
      2,
    ]);
    expect(await streamEvents('q-a')).toEqual(['1:a1', '2:a2']);
    expect(await streamEvents('q-dup')).toEqual(['1:d1']);
    expect(await streamEvents('q-b')).toEqual(['1:b1']);
  });

  it('reads several streams at once, in the order asked: versions, last events and known keys', async () => {
    const first = await appendToStream(
      database.db,
      'v-one',
      [event('a', 'k-a'), event('b', 'k-b')],
      {
        expectedVersion: 0,
      },
    );
    const states = await streamVersions(database.db, [
      { streamId: 'v-none' },
      { streamId: 'v-one', idempotencyKey: 'k-b' },
      { streamId: 'v-one', idempotencyKey: 'k-zzz' },
      { streamId: 'v-one' },
    ]);
    const last = first.ok ? first.value.lastPosition : undefined;
    expect(states).toEqual([
      { version: 0, lastPosition: undefined, duplicateOf: undefined },
      { version: 2, lastPosition: last, duplicateOf: 2 },
      { version: 2, lastPosition: last, duplicateOf: undefined },
      { version: 2, lastPosition: last, duplicateOf: undefined },
    ]);
  });
});
