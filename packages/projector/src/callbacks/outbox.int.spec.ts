import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { ChangeKind, type OutboxEntry, recordChanges } from './outbox.ts';

describe('the changes a rebuild owes, recorded at its switch', () => {
  let database: EngineDatabase;
  beforeAll(async () => {
    database = await openEngineDatabase();
  });
  afterAll(() => database.close());

  it('lands every entry once, in the order given, however many statements it takes', async () => {
    // More entries than one statement writes, changes and group messages mixed, as a rebuild's.
    const entries: OutboxEntry[] = Array.from({ length: 12_345 }, (_, i) =>
      i % 1000 === 7
        ? {
            type: 'fanout',
            fanout: {
              partition: i % 4,
              version: i + 1,
              conversationID: `sg_g${i}`,
              seq: 3,
              previousMaxSeq: 2,
            },
          }
        : {
            type: 'change',
            change: {
              partition: i % 4,
              owner: `u${i % 97}`,
              version: i + 1,
              conversationID: `si_u${i}`,
              kind: i % 3 === 0 ? ChangeKind.entered : ChangeKind.changed,
              totalChanged: i % 2 === 0,
              ...(i % 5 === 0 ? { cause: { method: 'pinConversation', deviceID: `d${i}` } } : {}),
            },
          },
    );
    await database.db.transaction().execute((tx) => recordChanges(tx, entries));
    const { rows } = await sql<{ version: number; kind: number; conversation_id: string }>`
      SELECT version, kind, conversation_id FROM conversation_change ORDER BY id`.execute(
      database.db,
    );
    expect(rows).toEqual(
      entries.map((entry) =>
        entry.type === 'change'
          ? {
              version: entry.change.version,
              kind: entry.change.kind,
              conversation_id: entry.change.conversationID,
            }
          : {
              version: entry.fanout.version,
              kind: ChangeKind.group,
              conversation_id: entry.fanout.conversationID,
            },
      ),
    );
  });
});
