import type { Db } from '../read-model/schema.ts';
import { markPublished } from './outbox.ts';

/**
 * Stores how far the publisher got beside its publishing, not in its way: the next batch goes out
 * while the checkpoint of the one before is written. Writes go one at a time, in order. A write
 * that failed is thrown by the next `check()`, and the publisher starts over from the stored
 * checkpoint (JetStream drops what it publishes again as duplicates).
 */
export const createPublishedMarks = (db: Db) => {
  let writing: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  return {
    /** Moves the partitions' checkpoints past `lastID` once the writes before it are done. */
    mark(partitions: readonly number[], lastID: number) {
      writing = writing
        .then(() => markPublished(db, partitions, lastID))
        .catch((error) => {
          failure ??= { error };
        });
    },
    /** Throws the first failure of a write since the last check. */
    check() {
      const failed = failure;
      failure = undefined;
      if (failed) throw failed.error;
    },
    /** Resolves once every mark made is written (or failed). */
    settled: (): Promise<void> => writing,
  };
};
