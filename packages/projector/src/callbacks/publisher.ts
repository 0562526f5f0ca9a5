import type { Logger } from '@im/domain';
import { StorageUnavailable } from '@im/eventstore';
import type { JetStreamClient, NatsConnection } from 'nats';
import { createSignal } from '../projection/signal.ts';
import { quietWhileAway } from '../quiet-while-away.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { type Callback, toMessage } from './callback.ts';
import {
  markPublished,
  nextCallbacks,
  type OutboxBatch,
  outboxPosition,
  vacuumOutbox,
} from './outbox.ts';
import { createPipelinedPublisher, PublishFailed } from './pipelined-publish.ts';

export {
  type Callback,
  type CallbackName,
  callbackSubject,
  changeMsgID,
} from './callback.ts';

/** Publishes a few callbacks (the sync brackets) and resolves once JetStream acked each. */
export const publishCallbacks = async (
  js: JetStreamClient,
  prefix: string,
  callbacks: readonly Callback[],
): Promise<void> => {
  for (const callback of callbacks) {
    const message = toMessage(prefix, callback);
    await js.publish(message.subject, message.data, { msgID: message.msgID });
  }
};

export interface PublisherOptions {
  database: EngineDatabase;
  nc: NatsConnection;
  subjectPrefix: string;
  logger: Logger;
  /** Only the process that holds the projector lease publishes, so order per owner holds. */
  isActive: () => boolean;
  /** Outbox rows per batch; a row gives one or two callbacks. */
  batchSize?: number;
  ackTimeoutMs?: number;
}

export interface PublisherStats {
  /** `degraded` while NATS is away or the last attempt failed: callbacks wait in the outbox. */
  status: 'ok' | 'degraded';
  connected: boolean;
  published: number;
  failures: number;
  /** Outbox rows not yet published, as of the last attempt. */
  backlog: number;
  lastError: string | undefined;
  lastPublishedAt: number | undefined;
}

/** An outbox batch and the row limit it was read with. */
interface Batch extends OutboxBatch {
  limit: number;
}

const MIN_BACKOFF_MS = 100;
/** Published outbox rows between two vacuums of the outbox. */
const VACUUM_EVERY_ROWS = 5000;
const MAX_BACKOFF_MS = 5000;

/**
 * Follows the outbox the projector writes and publishes each change's callbacks in outbox order;
 * the checkpoint moves only after JetStream acked the whole batch, so a crash or an outage
 * re-publishes (deduplicated by Nats-Msg-Id), never loses, and never reorders an owner's callbacks.
 */
export const createCallbackPublisher = (options: PublisherOptions) => {
  const { database, subjectPrefix, logger } = options;
  const batchSize = options.batchSize ?? 5000;
  const signal = createSignal();
  const stats: PublisherStats = {
    status: 'ok',
    connected: true,
    published: 0,
    failures: 0,
    backlog: 0,
    lastError: undefined,
    lastPublishedAt: undefined,
  };
  let failing = false;
  const refreshStatus = () => {
    stats.status = stats.connected && !failing ? 'ok' : 'degraded';
  };
  const pipeline = createPipelinedPublisher(options.nc, {
    ackTimeoutMs: options.ackTimeoutMs,
    onConnectionChange(connected) {
      stats.connected = connected;
      refreshStatus();
      if (connected) {
        logger.info('NATS is back; publishing the callbacks due', { backlog: stats.backlog });
        signal.notify();
      } else {
        logger.warn('NATS connection lost; callbacks wait in the outbox', {});
      }
    },
  });
  let running = false;
  let loop: Promise<void> | undefined;

  let sinceVacuum = 0;
  let vacuuming: Promise<void> | undefined;
  /** A batch read ahead while the previous one waits for its acks. */
  let ahead: Promise<Batch> | undefined;
  /** A batch that failed part way, and how many of its callbacks JetStream took. */
  let resume: { batch: Batch; from: number } | undefined;
  const readBatch = async (after: number, limit: number): Promise<Batch> => ({
    after,
    limit,
    ...(await nextCallbacks(database.db, after, limit)),
  });
  // A burst starts small and doubles, so its first callbacks go out at once and each read ahead
  // takes about as long as the publishing it overlaps.
  const firstBatchSize = Math.min(batchSize, 500);

  /** Publishes the next batch; answers whether more callbacks are due. */
  const publishBatch = async (): Promise<boolean> => {
    const db = database.db;
    const { published, head } = await outboxPosition(db);
    stats.backlog = head - published;
    const readAhead = ahead;
    ahead = undefined;
    if (stats.backlog === 0) return false;
    if (!pipeline.connected()) throw new Error('NATS is not connected');
    const started = performance.now();
    const retry = resume?.batch.after === published ? resume : undefined;
    resume = undefined;
    const prepared = await readAhead?.catch(() => undefined);
    const batch =
      retry?.batch ??
      (prepared?.after === published ? prepared : await readBatch(published, firstBatchSize));
    const from = retry?.from ?? 0;
    const readDone = performance.now();
    const publishing = pipeline.publish(
      batch.callbacks.slice(from).map((callback) => toMessage(subjectPrefix, callback)),
    );
    // One batch in flight at a time, so a failed one is resumed before anything after it goes
    // out; the next batch's reads overlap this one's acks instead.
    if (batch.lastID < head) {
      ahead = readBatch(batch.lastID, Math.min(batchSize, batch.limit * 2));
      ahead.catch(() => {});
    }
    await publishing.catch((error) => {
      resume = { batch, from: from + (error instanceof PublishFailed ? error.acked : 0) };
      throw error;
    });
    const acked = performance.now();
    await markPublished(db, batch.lastID);
    sinceVacuum += batch.lastID - batch.after;
    if (sinceVacuum >= VACUUM_EVERY_ROWS && !vacuuming) {
      sinceVacuum = 0;
      // Beside the publishing, not in its way: VACUUM blocks no read, insert or delete.
      vacuuming = vacuumOutbox(db)
        .catch((error) => logger.warn('outbox vacuum failed', { error }))
        .finally(() => {
          vacuuming = undefined;
        });
    }
    logger.debug('published batch', {
      callbacks: batch.callbacks.length,
      readMs: Math.round(readDone - started),
      publishMs: Math.round(acked - readDone),
      checkpointMs: Math.round(performance.now() - acked),
    });
    stats.published += batch.callbacks.length;
    stats.backlog = Math.max(0, head - batch.lastID);
    stats.lastPublishedAt = Date.now();
    return batch.lastID < head;
  };

  const run = async () => {
    let backoffMs = MIN_BACKOFF_MS;
    while (running) {
      if (!options.isActive()) {
        await signal.wait(1000);
        continue;
      }
      try {
        const more = await publishBatch();
        if (failing) logger.info('callback publishing recovered', { backlog: stats.backlog });
        failing = false;
        refreshStatus();
        backoffMs = MIN_BACKOFF_MS;
        if (!more) await signal.wait(250);
      } catch (error) {
        stats.failures += 1;
        stats.lastError = String((error as Error)?.message ?? error);
        if (!failing)
          quietWhileAway(logger, 'warn', 'callback publishing failed; will retry', error);
        failing = true;
        refreshStatus();
        // Jitter keeps several engines from retrying in step after a shared outage. PostgreSQL's
        // return is noticed by its next answer, so the wait stays short while it is away; NATS's
        // return wakes this loop itself.
        const away = error instanceof StorageUnavailable;
        await signal.wait((away ? MIN_BACKOFF_MS : backoffMs) * (0.5 + Math.random() / 2));
        if (!away) backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      }
    }
  };

  return {
    stats: (): PublisherStats => ({ ...stats }),
    wake: () => signal.notify(),
    start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      signal.notify();
      await loop;
      await vacuuming;
      pipeline.close();
    },
  };
};

export type CallbackPublisher = ReturnType<typeof createCallbackPublisher>;
