import type { Logger } from '@im/domain';
import { StorageUnavailable } from '@im/eventstore';
import type { JetStreamClient, NatsConnection } from 'nats';
import { createSignal } from '../projection/signal.ts';
import { quietWhileAway } from '../quiet-while-away.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { type Callback, toMessage } from './callback.ts';
import { createOutboxReader, createOutboxVacuum, markPublished, outboxPosition } from './outbox.ts';
import {
  createPipelinedPublisher,
  type PipelinedPublisher,
  PublishFailed,
} from './pipelined-publish.ts';

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
  /** Outbox rows per batch at most (default 5000); a row gives one or two callbacks. */
  batchSize?: number;
  /** How long a batch may go without a new ack before it counts as failed (default 10 s). */
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

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/** The publisher's figures, and its status as they make it. */
const createPublisherStats = () => {
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
  const refresh = () => {
    stats.status = stats.connected && !failing ? 'ok' : 'degraded';
  };
  return {
    stats,
    failing: () => failing,
    connection(connected: boolean) {
      stats.connected = connected;
      refresh();
    },
    succeeded() {
      failing = false;
      refresh();
    },
    failed(error: unknown) {
      stats.failures += 1;
      stats.lastError = String((error as Error)?.message ?? error);
      failing = true;
      refresh();
    },
  };
};

interface PublishingParts {
  db: EngineDatabase['db'];
  reader: ReturnType<typeof createOutboxReader>;
  pipeline: PipelinedPublisher;
  vacuum: ReturnType<typeof createOutboxVacuum>;
  stats: PublisherStats;
  subjectPrefix: string;
  logger: Logger;
}

/**
 * Publishes the next outbox batch and moves the checkpoint past it once JetStream acked it all;
 * answers whether more callbacks are due. One batch is in flight at a time, so a failed one is
 * resumed before anything after it goes out; the next batch's read overlaps this one's acks.
 */
const publishNext = async (parts: PublishingParts): Promise<boolean> => {
  const { db, reader, pipeline, stats } = parts;
  const { published, head } = await outboxPosition(db);
  stats.backlog = head - published;
  if (stats.backlog === 0) {
    reader.drop();
    return false;
  }
  if (!pipeline.connected()) throw new Error('NATS is not connected');
  const started = performance.now();
  const batch = await reader.next(published);
  const readDone = performance.now();
  const publishing = pipeline.publish(
    batch.callbacks.slice(batch.from).map((callback) => toMessage(parts.subjectPrefix, callback)),
  );
  if (batch.lastID < head) reader.readAhead(batch);
  await publishing.catch((error) => {
    reader.failed(batch, error instanceof PublishFailed ? error.acked : 0);
    throw error;
  });
  const acked = performance.now();
  await markPublished(db, batch.lastID);
  parts.vacuum.published(batch.lastID - batch.after);
  parts.logger.debug('published batch', {
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

/**
 * Follows the outbox the projector writes and publishes each change's callbacks in outbox order;
 * the checkpoint moves only after JetStream acked the whole batch, so a crash or an outage
 * re-publishes (deduplicated by Nats-Msg-Id), never loses, and never reorders an owner's callbacks.
 */
export const createCallbackPublisher = (options: PublisherOptions) => {
  const { database, logger } = options;
  const signal = createSignal();
  const health = createPublisherStats();
  const pipeline = createPipelinedPublisher(options.nc, {
    ackTimeoutMs: options.ackTimeoutMs,
    onConnectionChange(connected) {
      health.connection(connected);
      if (!connected) return logger.warn('NATS connection lost; callbacks wait in the outbox', {});
      logger.info('NATS is back; publishing the callbacks due', { backlog: health.stats.backlog });
      signal.notify();
    },
  });
  const parts: PublishingParts = {
    db: database.db,
    reader: createOutboxReader(database.db, { batchSize: options.batchSize ?? 5000 }),
    pipeline,
    vacuum: createOutboxVacuum(database.db, logger),
    stats: health.stats,
    subjectPrefix: options.subjectPrefix,
    logger,
  };
  let running = false;
  let loop: Promise<void> | undefined;

  const run = async () => {
    let backoffMs = MIN_BACKOFF_MS;
    while (running) {
      if (!options.isActive()) {
        await signal.wait(1000);
        continue;
      }
      try {
        const more = await publishNext(parts);
        if (health.failing())
          logger.info('callback publishing recovered', { backlog: health.stats.backlog });
        health.succeeded();
        backoffMs = MIN_BACKOFF_MS;
        if (!more) await signal.wait(250);
      } catch (error) {
        if (!health.failing())
          quietWhileAway(logger, 'warn', 'callback publishing failed; will retry', error);
        health.failed(error);
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
    stats: (): PublisherStats => ({ ...health.stats }),
    wake: () => signal.notify(),
    start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      signal.notify();
      await loop;
      await parts.vacuum.settled();
      pipeline.close();
    },
  };
};

export type CallbackPublisher = ReturnType<typeof createCallbackPublisher>;
