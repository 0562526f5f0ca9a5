import type { Cause } from '@im/domain';
import { sql } from 'kysely';
import type { Db } from '../read-model/schema.ts';
import { type OutboxBatch, type ReadBatch, resolveBatch } from './callback-pages.ts';
import { ChangeKind, type OutboxEntry } from './outbox.ts';

/** The outbox rows of `partitions` after `after`, `limit` at most, as a batch's entries. */
export const readOutboxEntries = async (
  db: Db,
  partitions: readonly number[],
  after: number,
  limit: number,
): Promise<OutboxBatch> => {
  const rows = (
    await sql<{
      id: number;
      partition: number;
      owner: string;
      version: number;
      conversation_id: string;
      kind: number;
      total_changed: boolean;
      seq: number;
      previous_max_seq: number;
      traceparent: string | null;
      cause: Cause | null;
    }>`
      SELECT id, partition, owner, version, conversation_id, kind, total_changed, seq,
             previous_max_seq, traceparent, cause
      FROM conversation_change
      WHERE partition = ANY(${[...partitions]}::smallint[]) AND id > ${after}
      ORDER BY id LIMIT ${limit}`.execute(db)
  ).rows;
  const entries = rows.map(
    (row): OutboxEntry =>
      row.kind === ChangeKind.group
        ? {
            type: 'fanout',
            fanout: {
              partition: row.partition,
              version: Number(row.version),
              conversationID: row.conversation_id,
              seq: Number(row.seq),
              previousMaxSeq: Number(row.previous_max_seq),
              ...(row.traceparent ? { traceparent: row.traceparent } : {}),
              ...(row.cause ? { cause: row.cause } : {}),
            },
          }
        : {
            type: 'change',
            change: {
              partition: row.partition,
              owner: row.owner,
              version: Number(row.version),
              conversationID: row.conversation_id,
              kind: row.kind as ChangeKind,
              totalChanged: row.total_changed,
              ...(row.traceparent ? { traceparent: row.traceparent } : {}),
              ...(row.cause ? { cause: row.cause } : {}),
            },
          },
  );
  return { after, lastID: Number(rows.at(-1)?.id ?? after), entries };
};

/**
 * The outbox rows after `after` read back (after a crash, a failover or an outage, when what the
 * projector handed over in memory is gone), with their callbacks.
 */
const readOutbox = async (
  db: Db,
  partitions: readonly number[],
  after: number,
  limit: number,
): Promise<ReadBatch> =>
  resolveBatch(db, await readOutboxEntries(db, partitions, after, limit), limit);

/**
 * Reads the outbox back for the publisher a batch at a time: the next batch while the one before
 * waits for its acks, and a failed batch again from where JetStream stopped taking it. A burst
 * starts small and doubles, so its first callbacks go out at once and each read ahead takes about
 * as long as the publishing it overlaps.
 */
export const createOutboxReader = (
  db: Db,
  options: { batchSize: number; partitions: () => readonly number[] },
) => {
  const firstBatchSize = Math.min(options.batchSize, 500);
  let ahead: Promise<ReadBatch> | undefined;
  let resume: ReadBatch | undefined;
  return {
    /** The batch after the checkpoint `published`: resumed, read ahead, or read now. */
    async next(published: number): Promise<ReadBatch> {
      const retry = resume?.after === published ? resume : undefined;
      resume = undefined;
      const prepared = await ahead?.catch(() => undefined);
      ahead = undefined;
      if (retry) return retry;
      return prepared?.after === published
        ? prepared
        : readOutbox(db, options.partitions(), published, firstBatchSize);
    },
    /** Starts reading the batch after `batch`, to have it ready when this one is acked. */
    readAhead(batch: ReadBatch) {
      ahead = readOutbox(
        db,
        options.partitions(),
        batch.lastID,
        Math.min(options.batchSize, Math.max(1, batch.limit) * 2),
      );
      ahead.catch(() => {});
    },
    /** The batch failed part way: it resumes where its callbacks stopped. */
    failed(batch: ReadBatch) {
      resume = batch;
    },
    /** Forgets what was read ahead (nothing is due). */
    drop() {
      ahead = undefined;
    },
  };
};
