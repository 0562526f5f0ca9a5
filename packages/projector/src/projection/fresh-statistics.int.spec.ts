import { type ConversationState, evolve, singleConversationID } from '@im/domain';
import { type Database, eventStoreMigrations, openDatabase } from '@im/eventstore';
import { sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/harness.ts';
import { readModelMigrations } from '../read-model/migrations.ts';
import { writeStates } from './apply-batch.ts';
import { refreshStatistics } from './fresh-statistics.ts';

/** The receiver's conversation after a first message from `sendID`. */
const firstMessageState = (sendID: string, owner: string): ConversationState => {
  const conversationID = singleConversationID(sendID, owner);
  const message = {
    clientMsgID: `${sendID}-1`,
    serverMsgID: '',
    sendID,
    recvID: owner,
    groupID: '',
    sessionType: 1 as const,
    contentType: 101,
    content: 'hi',
    sendTime: 1_700_000_000_000,
    seq: 1,
  };
  const event = {
    type: 'MessageRecorded' as const,
    data: { conversationID, conversationType: 1 as const, message, atUserIDList: [] },
  };
  return evolve(undefined, event, owner) as ConversationState;
};

describe('refreshStatistics', () => {
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ url: await createTestDatabase() });
    const migrated = await new Migrator({
      db: database.db,
      provider: {
        getMigrations: async () => ({ ...eventStoreMigrations, ...readModelMigrations }),
      },
    }).migrateToLatest();
    if (migrated.error) throw migrated.error;
  });
  afterAll(() => database.close());

  const firstPagePlan = async (owner: string) =>
    (
      await sql<{ 'QUERY PLAN': string }>`
        EXPLAIN SELECT conversation_id FROM conversation_item WHERE owner = ${owner} AND NOT is_hidden
        ORDER BY list_block, list_time, conversation_id LIMIT 50`.execute(database.db)
    ).rows
      .map((row) => row['QUERY PLAN'])
      .join('\n');

  it('analyses the read model once it grew from nothing, so a first page is read along the list index', async () => {
    const states = Array.from({ length: 5000 }, (_, i) => firstMessageState(`peer${i}`, 'big'));
    await writeStates(database.db, 'conversation_item', states);

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
