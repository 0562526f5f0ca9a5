import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstMessageState } from '../../../../test/support/conversation-states.ts';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { refreshStatistics } from './fresh-statistics.ts';
import { LIVE_TABLES, writeStates } from './rows.ts';

describe('refreshStatistics', () => {
  let database: EngineDatabase;

  beforeAll(async () => {
    database = await openEngineDatabase();
  });
  afterAll(() => database.close());

  const firstPagePlan = async (owner: string) =>
    (
      await sql<{ 'QUERY PLAN': string }>`
        EXPLAIN SELECT conversation_id FROM conversation_item
        WHERE owner = ${owner} AND conversation_type <> 3 AND NOT is_hidden
        ORDER BY list_block, list_time, conversation_id LIMIT 50`.execute(database.db)
    ).rows
      .map((row) => row['QUERY PLAN'])
      .join('\n');

  it('analyses the read model once it grew from nothing, so a first page is read along the list index', async () => {
    const states = Array.from({ length: 5000 }, (_, i) => firstMessageState(`peer${i}`, 'big'));
    await writeStates(database.db, LIVE_TABLES, { rows: states, groups: [] }, 1);

    // Backends report their writes to the statistics a moment after they commit.
    let analysed: string[] = [];
    for (const deadline = Date.now() + 10_000; analysed.length === 0 && Date.now() < deadline; ) {
      analysed = await refreshStatistics(database.db);
      if (analysed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(analysed).toEqual(['conversation_item']);
    const plan = await firstPagePlan('big');
    expect(plan).toContain('conversation_item_list');
    expect(plan).not.toContain('Sort');
    // Fresh statistics are left alone until the table changes by a fifth again.
    expect(await refreshStatistics(database.db)).toEqual([]);
  });
});
