import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { outboxPosition } from './outbox.ts';
import { createPublishedMarks } from './published-marks.ts';

describe('the publisher’s checkpoint, written beside the publishing', () => {
  let database: EngineDatabase;
  beforeAll(async () => {
    database = await openEngineDatabase();
  });
  afterAll(() => database.close());

  it('stores the marks in order, and hands a failed write to the next check', async () => {
    const marks = createPublishedMarks(database.db);
    marks.mark([0, 1], 5);
    marks.mark([0, 1], 9);
    await marks.settled();
    expect(() => marks.check()).not.toThrow();
    expect((await outboxPosition(database.db, [0, 1])).published).toBe(9);

    await sql`ALTER TABLE publisher_checkpoint RENAME TO publisher_checkpoint_away`.execute(
      database.db,
    );
    marks.mark([0, 1], 12);
    await marks.settled();
    await sql`ALTER TABLE publisher_checkpoint_away RENAME TO publisher_checkpoint`.execute(
      database.db,
    );
    expect(() => marks.check()).toThrow(/publisher_checkpoint/);
    // the failure is handed over once; the publisher then starts over from the stored mark
    expect(() => marks.check()).not.toThrow();
    expect((await outboxPosition(database.db, [0, 1])).published).toBe(9);
    marks.mark([0, 1], 12);
    await marks.settled();
    expect((await outboxPosition(database.db, [0, 1])).published).toBe(12);
  });
});
