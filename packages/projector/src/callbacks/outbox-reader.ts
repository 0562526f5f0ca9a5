import type { Db } from '../read-model/schema.ts';
import { nextCallbacks, type OutboxBatch } from './outbox.ts';

/** An outbox batch, the row limit it was read with, and how many of its callbacks went out. */
export interface ReadBatch extends OutboxBatch {
  limit: number;
  /** Callbacks JetStream already took from an earlier, failed attempt: resume after them. */
  from: number;
}

/**
 * Reads the outbox for the publisher a batch at a time: the next batch while the one before waits
 * for its acks, and a failed batch again from where JetStream stopped taking it. A burst starts
 * small and doubles, so its first callbacks go out at once and each read ahead takes about as
 * long as the publishing it overlaps.
 */
export const createOutboxReader = (db: Db, options: { batchSize: number }) => {
  const firstBatchSize = Math.min(options.batchSize, 500);
  let ahead: Promise<ReadBatch> | undefined;
  let resume: ReadBatch | undefined;
  const read = async (after: number, limit: number): Promise<ReadBatch> => ({
    after,
    limit,
    from: 0,
    ...(await nextCallbacks(db, after, limit)),
  });
  return {
    /** The batch after the checkpoint `published`: resumed, read ahead, or read now. */
    async next(published: number): Promise<ReadBatch> {
      const retry = resume?.after === published ? resume : undefined;
      resume = undefined;
      const prepared = await ahead?.catch(() => undefined);
      ahead = undefined;
      if (retry) return retry;
      return prepared?.after === published ? prepared : read(published, firstBatchSize);
    },
    /** Starts reading the batch after `batch`, to have it ready when this one is acked. */
    readAhead(batch: ReadBatch) {
      ahead = read(batch.lastID, Math.min(options.batchSize, batch.limit * 2));
      ahead.catch(() => {});
    },
    /** The batch failed after JetStream took `acked` more of its callbacks. */
    failed(batch: ReadBatch, acked: number) {
      resume = { ...batch, from: batch.from + acked };
    },
    /** Forgets what was read ahead (nothing is due). */
    drop() {
      ahead = undefined;
    },
  };
};
