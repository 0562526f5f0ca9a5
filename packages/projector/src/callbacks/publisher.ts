import type { Logger } from '@im/domain';
import { StorageUnavailable } from '@im/eventstore';
import type { NatsConnection } from 'nats';
import { createSignal } from '../projection/signal.ts';
import { quietWhileAway } from '../quiet-while-away.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { type Callback, toMessage } from './callback.ts';
import { type CallbackPages, type OutboxBatch, resolveBatch } from './callback-pages.ts';
import { createHandover, type Handover } from './handover.ts';
import { createOutboxVacuum, outboxPosition } from './outbox.ts';
import { createOutboxReader } from './outbox-reader.ts';
import {
  createPipelinedPublisher,
  type PipelinedPublisher,
  PublishFailed,
} from './pipelined-publish.ts';
import { createPublishedMarks } from './published-marks.ts';
import { createPublisherStats, type PublisherStats } from './publisher-stats.ts';

export {
  type Callback,
  type CallbackName,
  callbackSubject,
  changeMsgID,
  publishCallbacks,
} from './callback.ts';
export type { PublisherStats } from './publisher-stats.ts';

export interface PublisherOptions {
  database: EngineDatabase;
  nc: NatsConnection;
  subjectPrefix: string;
  logger: Logger;
  /**
   * The partitions this publisher publishes: those its projector holds the leases of, so that one
   * process at a time publishes each owner's callbacks, in order. None: it waits.
   */
  partitions: () => readonly number[];
  /** Outbox rows per batch at most (default 5000); a row gives one or two callbacks. */
  batchSize?: number;
  /** How long a batch may go without a new ack before it counts as failed (default 10 s). */
  ackTimeoutMs?: number;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

interface PublishingParts {
  db: EngineDatabase['db'];
  handover: Handover;
  reader: ReturnType<typeof createOutboxReader>;
  pipeline: PipelinedPublisher;
  vacuum: ReturnType<typeof createOutboxVacuum>;
  marks: ReturnType<typeof createPublishedMarks>;
  stats: PublisherStats;
  subjectPrefix: string;
  logger: Logger;
  /** The partitions published, as of the last look. */
  partitions: readonly number[];
  /**
   * Where the publisher stands in the outbox as this process last stored or read it: every row
   * of its partitions up to it is published. Undefined: read it.
   */
  published: number | undefined;
}

/**
 * The next batch due after the checkpoint: handed over by the projector when it continues the
 * checkpoint, else read back from the outbox (with the next one read ahead). Undefined when
 * nothing is due.
 */
const nextBatch = async (parts: PublishingParts) => {
  const held = parts.published !== undefined ? parts.handover.next(parts.published) : undefined;
  if (held) {
    const batch = held.resolved ?? (await resolveBatch(parts.db, held.batch));
    return { batch, handed: true, more: parts.handover.size() > 1 };
  }
  await parts.marks.settled();
  const { published, head } = await outboxPosition(parts.db, parts.partitions);
  parts.published = published;
  parts.stats.backlog = head - published;
  if (head === published) {
    parts.reader.drop();
    return undefined;
  }
  const batch = await parts.reader.next(published);
  if (batch.lastID < head) parts.reader.readAhead(batch);
  return { batch, handed: false, more: batch.lastID < head };
};

/** Publishes a batch's callbacks page by page; a failure counts what JetStream took of its page. */
const publishPages = async (parts: PublishingParts, pages: CallbackPages) => {
  const messageOf = (callback?: Callback) => callback && toMessage(parts.subjectPrefix, callback);
  for (let page = await pages.current(); page; page = await pages.current()) {
    const { callbacks, from } = page;
    const length = callbacks.length - from;
    await parts.pipeline
      .publish({ length, at: (index) => messageOf(callbacks[from + index]) })
      .catch((error) => {
        pages.took(error instanceof PublishFailed ? error.acked : 0);
        throw error;
      });
    pages.took(length);
  }
};

/**
 * Publishes the next batch and moves the checkpoint past it once JetStream acked it all (written
 * while the next goes out); answers whether more callbacks are due. One batch is in flight at a
 * time, so a failed one is resumed before anything after it goes out.
 */
const publishNext = async (parts: PublishingParts): Promise<boolean> => {
  const { pipeline, stats } = parts;
  parts.marks.check();
  if (!pipeline.connected()) throw new Error('NATS is not connected');
  const started = performance.now();
  const next = await nextBatch(parts);
  if (!next) return false;
  const { batch } = next;
  const readDone = performance.now();
  await publishPages(parts, batch.pages).catch((error) => {
    if (next.handed) parts.handover.failed(batch);
    else parts.reader.failed(batch);
    throw error;
  });
  const acked = performance.now();
  parts.marks.mark(parts.partitions, batch.lastID);
  parts.published = batch.lastID;
  parts.vacuum.published(batch.lastID - batch.after);
  parts.logger.debug('published batch', {
    callbacks: batch.pages.published(),
    handedOver: next.handed,
    readMs: Math.round(readDone - started),
    publishMs: Math.round(acked - readDone),
  });
  stats.published += batch.pages.published();
  stats.backlog = next.handed ? 0 : Math.max(0, stats.backlog - (batch.lastID - batch.after));
  stats.lastPublishedAt = Date.now();
  return next.more;
};

/** What publishing a batch works with, for no partitions yet. */
const publishingParts = (
  options: PublisherOptions,
  pipeline: PipelinedPublisher,
  stats: PublisherStats,
): PublishingParts => {
  const parts: PublishingParts = {
    db: options.database.db,
    handover: createHandover(),
    reader: createOutboxReader(options.database.db, {
      batchSize: options.batchSize ?? 5000,
      partitions: () => parts.partitions,
    }),
    pipeline,
    vacuum: createOutboxVacuum(options.database.db, options.logger),
    marks: createPublishedMarks(options.database.db),
    stats,
    subjectPrefix: options.subjectPrefix,
    logger: options.logger,
    partitions: [],
    published: undefined,
  };
  return parts;
};

/** Takes the partitions held now; a change starts over from the outbox. */
const followPartitions = (parts: PublishingParts, held: readonly number[]) => {
  if (held.length === parts.partitions.length && held.every((p, i) => p === parts.partitions[i]))
    return;
  parts.partitions = [...held];
  parts.handover.clear();
  parts.reader.drop();
  parts.published = undefined;
};

/**
 * Publishes each change's callbacks in outbox order: those the projector hands over as it
 * commits, and those of the outbox it did not (after a crash, a failover or an outage), read
 * back. The checkpoint moves only after JetStream acked a whole batch, so a crash or an outage
 * re-publishes (deduplicated by Nats-Msg-Id), never loses, and never reorders an owner's callbacks.
 */
export const createCallbackPublisher = (options: PublisherOptions) => {
  const { logger } = options;
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
  const parts = publishingParts(options, pipeline, health.stats);
  const follow = (held: readonly number[]) => followPartitions(parts, held);
  let running = false;
  let loop: Promise<void> | undefined;

  const run = async () => {
    let backoffMs = MIN_BACKOFF_MS;
    while (running) {
      follow(options.partitions());
      if (parts.partitions.length === 0) {
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
        parts.published = undefined;
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
    /** The outbox entries of a batch the projector just committed, with its views in memory. */
    handOver(batch: OutboxBatch) {
      follow(options.partitions());
      if (parts.partitions.length === 0) return;
      parts.handover.push(batch);
      signal.notify();
    },
    start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      signal.notify();
      await loop;
      await parts.marks.settled();
      await parts.vacuum.settled();
      pipeline.close();
    },
  };
};

export type CallbackPublisher = ReturnType<typeof createCallbackPublisher>;
