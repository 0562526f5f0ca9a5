import { type MessageRecorded, silentLogger, singleConversationID, streams } from '@im/domain';
import {
  appendInTransaction,
  appendToStream,
  LOG_START,
  lockStream,
  readCheckpoint,
  readEventsAfter,
} from '@im/eventstore';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import { holdOpen } from '../../../../test/support/hold-open.ts';
import { projectorCheckpoint } from '../read-model/names.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { createProjector, type Projector } from './projector.ts';

/** One partition: the checkpoint counts every event. */
const PROJECTOR = projectorCheckpoint(0);

const message = (sendID: string, recvID: string, seq: number): MessageRecorded => ({
  type: 'MessageRecorded',
  data: {
    conversationID: singleConversationID(sendID, recvID),
    conversationType: 1,
    message: {
      clientMsgID: `${sendID}-${recvID}-${seq}`,
      serverMsgID: '',
      sendID,
      recvID,
      groupID: '',
      sessionType: 1,
      contentType: 101,
      content: 'hi',
      sendTime: 1_700_000_000_000 + seq,
      seq,
    },
    atUserIDList: [],
  },
});

describe('the live projector with a transaction held open across later commits', () => {
  let database: EngineDatabase;
  let projector: Projector;

  const versions = async () =>
    Object.fromEntries(
      (
        await sql<{ owner: string; conversation_id: string; version: number }>`
          SELECT owner, conversation_id, version FROM conversation_item`.execute(database.db)
      ).rows.map((row) => [`${row.owner}/${row.conversation_id}`, row.version]),
    );
  const outbox = async () =>
    (
      await sql<{ owner: string; conversation_id: string; version: number }>`
        SELECT owner, conversation_id, version FROM conversation_change ORDER BY id`.execute(
        database.db,
      )
    ).rows;
  /** Waits until the projector has looked at the log `n` more times. */
  const looks = async (n: number) => {
    const target = projector.stats().polls + n;
    await expect
      .poll(() => projector.stats().polls >= target, {
        message: `${n} projector polls`,
        timeout: 60_000,
      })
      .toBe(true);
  };

  beforeAll(async () => {
    database = await openEngineDatabase();
    projector = createProjector({
      database,
      holder: 'int-test',
      logger: silentLogger,
      partitions: 1,
      idlePollMs: 20,
    });
    await projector.start();
    await vi.waitFor(() => expect(projector.stats().leader, 'the lease').toBe(true), {
      timeout: 60_000,
    });
  });
  afterAll(async () => {
    await projector.stop();
    await database.close();
  });

  it('neither skips the early transaction nor applies later events before it', async () => {
    const bob = streams.messages(singleConversationID('alice', 'bob'));
    const early = holdOpen(database, async (tx) => {
      await appendInTransaction(tx, bob, [message('alice', 'bob', 1)], { expectedVersion: 0 });
    });
    await early.started;
    await appendToStream(
      database.db,
      streams.messages(singleConversationID('alice', 'carol')),
      [message('alice', 'carol', 1)],
      { expectedVersion: 0 },
    );
    await appendToStream(
      database.db,
      streams.messages(singleConversationID('alice', 'dave')),
      [message('alice', 'dave', 1)],
      { expectedVersion: 0 },
    );
    projector.wake();
    await looks(3);
    // Later events are committed, but the projector waits for the open transaction.
    expect((await readCheckpoint(database.db, PROJECTOR)).handled).toBe(0);
    expect(await versions()).toEqual({});

    await early.commit();
    projector.wake();
    await expect
      .poll(async () => (await readCheckpoint(database.db, PROJECTOR)).handled === 3, {
        message: 'three events projected',
        timeout: 60_000,
      })
      .toBe(true);
    // Versions number the events in the order applied: the early transaction's event first.
    expect(await versions()).toEqual({
      'alice/si_alice_bob': 1,
      'bob/si_alice_bob': 1,
      'alice/si_alice_carol': 2,
      'carol/si_alice_carol': 2,
      'alice/si_alice_dave': 3,
      'dave/si_alice_dave': 3,
    });
    expect((await outbox()).map((row) => row.version)).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('applies in the log read order when a transaction took its id early and its event late', async () => {
    const handledBefore = (await readCheckpoint(database.db, PROJECTOR)).handled;
    const erin = streams.messages(singleConversationID('erin', 'frank'));
    let appendLate: () => Promise<void> = async () => {};
    const early = holdOpen(database, async (tx) => {
      await lockStream(tx, erin);
      appendLate = async () => {
        await appendInTransaction(tx, erin, [message('erin', 'frank', 1)], {
          expectedVersion: 0,
        });
      };
    });
    await early.started;
    await appendToStream(
      database.db,
      streams.messages(singleConversationID('erin', 'gina')),
      [message('erin', 'gina', 1)],
      { expectedVersion: 0 },
    );
    await looks(2);
    expect((await readCheckpoint(database.db, PROJECTOR)).handled).toBe(handledBefore);
    await appendLate();
    await early.commit();
    projector.wake();
    await expect
      .poll(
        async () => (await readCheckpoint(database.db, PROJECTOR)).handled === handledBefore + 2,
        { message: 'two more events projected', timeout: 60_000 },
      )
      .toBe(true);
    const order = (await readEventsAfter(database.db, LOG_START, { limit: 100 })).map(
      (event) => (event.data as MessageRecorded['data']).conversationID,
    );
    expect(order.slice(-2)).toEqual(['si_erin_frank', 'si_erin_gina']);
    const projected = await versions();
    expect(projected['erin/si_erin_frank']).toBe(handledBefore + 1);
    expect(projected['erin/si_erin_gina']).toBe(handledBefore + 2);
  });
});
