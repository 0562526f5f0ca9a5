import { singleConversationID } from '@im/domain';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstMessageState } from '../../../../test/support/conversation-states.ts';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import { LIVE_TABLES, writeStates } from '../projection/rows.ts';
import { selectColumns } from './columns.ts';
import { createListCache } from './list-cache.ts';
import type { EngineDatabase } from './schema.ts';

describe('the whole-list cache', () => {
  let database: EngineDatabase;

  beforeAll(async () => {
    database = await openEngineDatabase();
  });
  afterAll(() => database.close());

  const items = (json: Uint8Array) =>
    JSON.parse(new TextDecoder().decode(json)) as Array<{
      conversationID: string;
      draftText: string;
      ex: string;
    }>;

  it('answers a list changed since it was cached, and the new table a rebuild switched in', async () => {
    const cache = createListCache({ maxBytes: 1024 * 1024 });
    const owner = 'cached';
    await writeStates(
      database.db,
      LIVE_TABLES,
      {
        rows: [firstMessageState('a', owner, 1), firstMessageState('b', owner, 2)],
        groups: [],
      },
      1,
    );
    expect(items(await cache.wholeList(database.db, owner))).toHaveLength(2);

    await sql`UPDATE conversation_item SET draft_text = 'later', version = 3
              WHERE owner = ${owner} AND conversation_id = ${singleConversationID('a', owner)}`.execute(
      database.db,
    );
    const changed = items(await cache.wholeList(database.db, owner));
    expect(changed.find((item) => item.draftText === 'later')?.conversationID).toBe(
      singleConversationID('a', owner),
    );

    // A rebuild's table holds the same versions with repaired content.
    await sql`CREATE TABLE rebuilt (LIKE conversation_item INCLUDING ALL)`.execute(database.db);
    await sql`INSERT INTO rebuilt (${selectColumns}) SELECT ${selectColumns} FROM conversation_item`.execute(
      database.db,
    );
    await sql`UPDATE rebuilt SET ex = 'repaired'`.execute(database.db);
    await sql`ALTER TABLE conversation_item RENAME TO replaced`.execute(database.db);
    await sql`ALTER TABLE rebuilt RENAME TO conversation_item`.execute(database.db);
    expect(items(await cache.wholeList(database.db, owner)).map((item) => item.ex)).toEqual([
      'repaired',
      'repaired',
    ]);
  });

  it('keeps to its size, dropping the least recently asked lists', async () => {
    const states = Array.from({ length: 30 }, (_, i) =>
      firstMessageState('peer', `owner${i}`, i + 1),
    );
    await writeStates(database.db, LIVE_TABLES, { rows: states, groups: [] }, 1);
    const one = (await createListCache({ maxBytes: 1e6 }).wholeList(database.db, 'owner0'))
      .byteLength;
    const cache = createListCache({ maxBytes: one * 10 });
    for (const state of states) await cache.wholeList(database.db, state.owner);
    expect(cache.bytes).toBeGreaterThan(0);
    expect(cache.bytes).toBeLessThanOrEqual(one * 10);
  });
});
