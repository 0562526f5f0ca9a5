import type { Logger } from '@im/domain';
import { type AppendOutcome, appendToStream, type NewEvent } from './append.ts';
import { appendToStreams, type StreamAppend } from './append-many.ts';
import type { Queryable } from './schema.ts';

interface Waiting extends StreamAppend {
  settle: (outcome: Promise<AppendOutcome>) => void;
}

export interface AppendQueueOptions {
  /** Appends per statement at most (default 256). */
  maxBatch?: number;
  /** Told when a batch fails and is appended one by one. */
  logger?: Logger;
}

/**
 * Writes a batch, settling each of its appends: all in one statement when there are several,
 * and one by one when that statement fails (a repeated idempotency key, a deadlock with another
 * process), so each caller gets its own answer. Resolves once all are written.
 */
const write = async (db: Queryable, batch: Waiting[], logger: Logger | undefined) => {
  const together = batch.filter((append) => append.events.length > 0);
  const outcomes =
    together.length > 1
      ? await appendToStreams(db, together).catch((error) => {
          // Expected now and then (a retried message's key); each append then gets its answer.
          logger?.debug('append batch failed; appending one by one', {
            appends: together.length,
            reason: String((error as Error)?.message ?? error),
          });
          return undefined;
        })
      : undefined;
  const written = new Map(together.map((append, index) => [append, outcomes?.[index]]));
  await Promise.all(
    batch.map((append) => {
      const known = written.get(append);
      const outcome = known
        ? Promise.resolve(known)
        : appendToStream(db, append.streamId, append.events, {
            expectedVersion: append.expectedVersion,
          });
      append.settle(outcome);
      return outcome.catch(() => undefined);
    }),
  );
};

/** The next batch: waiting appends in order, a stream's later appends left for the next one. */
const take = (waiting: Waiting[], maxBatch: number): Waiting[] => {
  const batch: Waiting[] = [];
  const taken = new Set<string>();
  for (let index = 0; index < waiting.length && batch.length < maxBatch; ) {
    const append = waiting[index] as Waiting;
    if (taken.has(append.streamId)) {
      index += 1;
      continue;
    }
    waiting.splice(index, 1);
    taken.add(append.streamId);
    batch.push(append);
  }
  return batch;
};

/**
 * Appends that arrive while others are being written go out together, one statement and one
 * commit for all of them: under load, appends cost a round trip and a WAL flush per batch rather
 * than per command. One statement is in flight at a time (more in flight were slower, README
 * Performance: the batches grow instead), and a stream appears at most once in it. An append alone
 * goes out at once. Each append keeps its own expected version and outcome; a batch that fails (a
 * repeated idempotency key, a deadlock with another process) is appended again one by one, so
 * each caller gets its own answer.
 */
export const createAppendQueue = (db: Queryable, options: AppendQueueOptions = {}) => {
  const maxBatch = options.maxBatch ?? 256;
  const waiting: Waiting[] = [];
  let writing = false;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (writing) return;
    const batch = take(waiting, maxBatch);
    if (batch.length === 0) return;
    writing = true;
    void write(db, batch, options.logger).finally(() => {
      writing = false;
      flush();
    });
  };

  return {
    append(
      streamId: string,
      events: readonly NewEvent[],
      appendOptions: { expectedVersion: number },
    ): Promise<AppendOutcome> {
      return new Promise((resolve, reject) => {
        waiting.push({
          streamId,
          events,
          expectedVersion: appendOptions.expectedVersion,
          settle: (outcome) => {
            outcome.then(resolve, reject);
          },
        });
        // Appends from the same burst of requests join the first one's batch.
        if (!scheduled && !writing) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
};

export type AppendQueue = ReturnType<typeof createAppendQueue>;
