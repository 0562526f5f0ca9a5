import type { ReadBatch } from './change-callbacks.ts';

/** Callbacks held in memory at most; past it, batches are read back from the outbox instead. */
const MAX_HELD_CALLBACKS = 200_000;

/**
 * The callbacks the projector hands over right after each commit, in outbox order, waiting for
 * the publisher: it sends them as they are, without reading the outbox back. Whatever is not
 * here (a crash, a failover, more than memory holds) the publisher reads back from the outbox.
 */
export const createHandover = () => {
  const batches: ReadBatch[] = [];
  let held = 0;
  return {
    /** A batch the projector committed, in order after the one before. */
    push(batch: ReadBatch) {
      if (held + batch.callbacks.length > MAX_HELD_CALLBACKS) return;
      batches.push(batch);
      held += batch.callbacks.length;
    },
    /**
     * The batch that starts right after the checkpoint `published`, dropping those it already
     * covers; none when the next rows are not here.
     */
    next(published: number): ReadBatch | undefined {
      while (batches[0] && batches[0].lastID <= published) {
        held -= batches[0].callbacks.length;
        batches.shift();
      }
      return batches[0]?.after === published ? batches[0] : undefined;
    },
    /** The head batch failed after JetStream took `acked` more of its callbacks. */
    failed(batch: ReadBatch, acked: number) {
      if (batches[0] === batch) batches[0] = { ...batch, from: batch.from + acked };
    },
    size: () => batches.length,
    /** Forgets everything held: another process publishes now. */
    clear() {
      batches.length = 0;
      held = 0;
    },
  };
};

export type Handover = ReturnType<typeof createHandover>;
