import { toItem } from '@im/domain';
import type { Database, EventStoreSchema } from '@im/eventstore';
import { type Kysely, sql } from 'kysely';
import type { JetStreamClient } from 'nats';
import type { Logger } from '../logger.ts';
import { ChangeKind } from '../projection/apply-batch.ts';
import { createSignal } from '../projection/signal.ts';
import { fromRow, selectColumns } from '../read-model/columns.ts';
import { totalsUnread } from '../read-model/queries.ts';

const CHECKPOINT = 'callbacks';
const encoder = new TextEncoder();

export type CallbackName =
  | 'OnNewConversation'
  | 'OnConversationChanged'
  | 'OnTotalUnreadMessageCountChanged'
  | 'OnSyncServerStart'
  | 'OnSyncServerFinish'
  | 'OnSyncServerFailed';

export interface Callback {
  userID: string;
  version: number;
  name: CallbackName;
  data: unknown;
  /** Nats-Msg-Id: unique to (owner, version, callback), so a re-publish is dropped by JetStream. */
  msgID: string;
}

export const callbackSubject = (prefix: string, userID: string, name: CallbackName) =>
  `${prefix}.${userID}.${name}`;

/** Publishes callbacks in order on one connection and resolves once JetStream acked them all. */
export const publishCallbacks = async (
  js: JetStreamClient,
  prefix: string,
  callbacks: readonly Callback[],
): Promise<void> => {
  await Promise.all(
    callbacks.map((callback) =>
      js.publish(
        callbackSubject(prefix, callback.userID, callback.name),
        encoder.encode(
          JSON.stringify({
            userID: callback.userID,
            version: callback.version,
            data: callback.data,
          }),
        ),
        { msgID: callback.msgID },
      ),
    ),
  );
};

const readPublished = async (db: Kysely<EventStoreSchema>): Promise<number> => {
  const result = await sql<{ last_change_id: number }>`
    SELECT last_change_id FROM publisher_checkpoint WHERE name = ${CHECKPOINT}`.execute(db);
  return result.rows[0]?.last_change_id ?? 0;
};

/** The callbacks due for the next outbox rows, each with its conversation's latest state. */
const nextCallbacks = async (
  db: Kysely<EventStoreSchema>,
  after: number,
  limit: number,
): Promise<{ lastID: number; callbacks: Callback[] }> => {
  const result = await sql<
    Record<string, unknown> & {
      change_id: number;
      change_version: number;
      kind: number;
      total_changed: boolean;
    }
  >`
    SELECT c.change_id, c.change_version, c.kind, c.total_changed, ${selectColumns}
    FROM (
      SELECT id AS change_id, owner, conversation_id, version AS change_version, kind, total_changed
      FROM conversation_change WHERE id > ${after} ORDER BY id LIMIT ${limit}
    ) c
    JOIN conversation_item i USING (owner, conversation_id)
    ORDER BY c.change_id`.execute(db);
  const rows = result.rows;
  const totals = await totalsUnread(db, [
    ...new Set(rows.filter((r) => r.total_changed).map((r) => String(r.owner))),
  ]);
  const callbacks: Callback[] = [];
  for (const row of rows) {
    const item = toItem(fromRow(row));
    const owner = String(row.owner);
    const version = row.change_version;
    const name = row.kind === ChangeKind.entered ? 'OnNewConversation' : 'OnConversationChanged';
    callbacks.push({
      userID: owner,
      version,
      name,
      data: [item],
      msgID: `${owner}.${version}.${name}`,
    });
    if (row.total_changed) {
      const total = 'OnTotalUnreadMessageCountChanged';
      callbacks.push({
        userID: owner,
        version,
        name: total,
        data: totals.get(owner) ?? 0,
        msgID: `${owner}.${version}.${total}`,
      });
    }
  }
  return { lastID: rows.at(-1)?.change_id ?? after, callbacks };
};

export interface PublisherOptions {
  database: Database;
  js: JetStreamClient;
  subjectPrefix: string;
  logger: Logger;
  /** Only the process that holds the projector lease publishes, so order per owner holds. */
  isActive: () => boolean;
  batchSize?: number;
}

/**
 * Follows the outbox the projector writes and publishes each change's callbacks; the checkpoint
 * moves only after JetStream acked them, so a crash or an outage re-publishes, never loses.
 */
export const createCallbackPublisher = (options: PublisherOptions) => {
  const { database, js, subjectPrefix, logger } = options;
  const batchSize = options.batchSize ?? 2000;
  const signal = createSignal();
  const stats = { published: 0, failures: 0, healthy: true, backlog: 0 };
  let running = false;
  let loop: Promise<void> | undefined;

  const publishBatch = async (): Promise<number> => {
    const db = database.db;
    const after = await readPublished(db);
    const { lastID, callbacks } = await nextCallbacks(db, after, batchSize);
    if (lastID === after) return 0;
    await publishCallbacks(js, subjectPrefix, callbacks);
    await db.transaction().execute(async (tx) => {
      await sql`
        INSERT INTO publisher_checkpoint (name, last_change_id) VALUES (${CHECKPOINT}, ${lastID})
        ON CONFLICT (name) DO UPDATE SET last_change_id = excluded.last_change_id`.execute(tx);
      await sql`DELETE FROM conversation_change WHERE id <= ${lastID}`.execute(tx);
    });
    stats.published += callbacks.length;
    return lastID - after;
  };

  const run = async () => {
    let backoffMs = 100;
    while (running) {
      if (!options.isActive()) {
        await signal.wait(1000);
        continue;
      }
      try {
        const rows = await publishBatch();
        stats.healthy = true;
        backoffMs = 100;
        if (rows < batchSize) await signal.wait(250);
      } catch (error) {
        stats.failures += 1;
        if (stats.healthy) logger.warn('callback publishing failed; will retry', { error });
        stats.healthy = false;
        await signal.wait(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  };

  return {
    stats: () => ({ ...stats }),
    wake: () => signal.notify(),
    start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      signal.notify();
      await loop;
    },
  };
};

export type CallbackPublisher = ReturnType<typeof createCallbackPublisher>;
