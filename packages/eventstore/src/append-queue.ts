import type { Kysely } from 'kysely';
import { type AppendOutcome, appendToStream, type NewEvent } from './append.ts';
import { appendToStreams, type StreamAppend } from './append-many.ts';
import type { EventStoreSchema } from './schema.ts';

interface Waiting extends StreamAppend {
  settle: (outcome: Promise<AppendOutcome>) => void;
}

export interface AppendQueueOptions {
  /** Appends per statement at most. */
  maxBatch?: number;
  /** Statements in flight at once; each holds a connection. */
  concurrency?: number;
}

/**
 * Appends that arrive while others are being written go out together, one statement and one
 * commit for all of them: under load, appends cost a round trip and a WAL flush per batch rather
 * than per command. An append alone goes out at once. Each append keeps its own expected
 * version and outcome; a batch that fails (a repeated idempotency key, a deadlock with another
 * process) is appended again one by one, so each caller gets its own answer.
 */
export const createAppendQueue = (
  db: Kysely<EventStoreSchema>,
  options: AppendQueueOptions = {},
) => {
  const maxBatch = options.maxBatch ?? 256;
  const concurrency = options.concurrency ?? 1;
  const waiting: Waiting[] = [];
  /** Streams with an append in flight: a stream's next append waits for its outcome. */
  const writing = new Set<string>();
  let inFlight = 0;
  let scheduled = false;

  const appendOne = (append: StreamAppend) =>
    appendToStream(db, append.streamId, append.events, { expectedVersion: append.expectedVersion });

  /** Settles every append of the batch; resolves once all are written. */
  const write = async (batch: Waiting[]) => {
    const together = batch.filter((append) => append.events.length > 0);
    const outcomes =
      together.length > 1 ? await appendToStreams(db, together).catch(() => undefined) : undefined;
    const written = new Map(together.map((append, index) => [append, outcomes?.[index]]));
    await Promise.all(
      batch.map((append) => {
        const known = written.get(append);
        const outcome = known ? Promise.resolve(known) : appendOne(append);
        append.settle(outcome);
        return outcome.catch(() => undefined);
      }),
    );
  };

  const take = (): Waiting[] => {
    const batch: Waiting[] = [];
    const taken = new Set<string>();
    for (let index = 0; index < waiting.length && batch.length < maxBatch; ) {
      const append = waiting[index] as Waiting;
      if (writing.has(append.streamId) || taken.has(append.streamId)) {
        index += 1;
        continue;
      }
      waiting.splice(index, 1);
      taken.add(append.streamId);
      batch.push(append);
    }
    return batch;
  };

  const flush = () => {
    scheduled = false;
    while (inFlight < concurrency) {
      const batch = take();
      if (batch.length === 0) return;
      inFlight += 1;
      for (const append of batch) writing.add(append.streamId);
      void write(batch).finally(() => {
        inFlight -= 1;
        for (const append of batch) writing.delete(append.streamId);
        flush();
      });
    }
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
        if (!scheduled && inFlight < concurrency) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
};

export type AppendQueue = ReturnType<typeof createAppendQueue>;
