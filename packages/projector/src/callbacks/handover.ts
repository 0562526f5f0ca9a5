import type { OutboxBatch, ReadBatch } from './callback-pages.ts';

/** Outbox entries held in memory at most; past it, batches are read back from the outbox instead. */
const MAX_HELD_ENTRIES = 100_000;

interface Held {
  batch: OutboxBatch;
  /** Its callbacks, once worked out; kept when publishing fails part way, to resume them. */
  resolved?: ReadBatch;
}

/**
 * What the projector hands over right after each commit, in outbox order, waiting for the
 * publisher: its changes with the views it had in memory, so the outbox is not read back. What is
 * not here (after a crash, a failover, more than memory holds) the publisher reads back.
 */
export const createHandover = () => {
  const held: Held[] = [];
  let entries = 0;
  const shift = () => {
    entries -= held[0]?.batch.entries.length ?? 0;
    held.shift();
  };
  return {
    /** A batch the projector committed, in order after the one before. */
    push(batch: OutboxBatch) {
      if (entries + batch.entries.length > MAX_HELD_ENTRIES) return;
      held.push({ batch });
      entries += batch.entries.length;
    },
    /**
     * The batch that starts right after the checkpoint `published` (dropping those it already
     * covers), with its callbacks if worked out already; none when the next rows are not here.
     */
    next(published: number): Held | undefined {
      while (held[0] && held[0].batch.lastID <= published) shift();
      return held[0]?.batch.after === published ? held[0] : undefined;
    },
    /** The head batch failed part way: it resumes where its callbacks stopped. */
    failed(resolved: ReadBatch) {
      const head = held[0];
      if (head?.batch.after === resolved.after) head.resolved = resolved;
    },
    size: () => held.length,
    /** Forgets everything held: another process publishes now. */
    clear() {
      held.length = 0;
      entries = 0;
    },
  };
};

export type Handover = ReturnType<typeof createHandover>;
