import {
  createInbox,
  Events,
  type Msg,
  type NatsConnection,
  type NatsError,
  type Subscription,
} from 'nats';
import type { OutgoingMessage } from './callback.ts';
import { PendingBatch } from './pending-batch.ts';

/** A batch that failed after JetStream acked its first `acked` messages: resume after them. */
export class PublishFailed extends Error {
  constructor(
    message: string,
    readonly acked: number,
  ) {
    super(message);
  }
}

export interface PipelinedPublisherOptions {
  /** How long a batch may go without a new ack before it counts as failed. */
  ackTimeoutMs?: number;
  /**
   * Messages in flight at most: enough to keep the server busy, few enough that a fan-out never
   * floods its queues (a refused message followed by accepted ones would break the order).
   */
  window?: number;
  onConnectionChange?: (connected: boolean) => void;
}

/** Fails the batch once it has gone `ackTimeoutMs` without a new ack. */
const watchProgress = (batch: PendingBatch, ackTimeoutMs: number, fail: (error: Error) => void) =>
  setInterval(
    () => {
      if (Date.now() - batch.lastProgressAt > ackTimeoutMs)
        fail(new Error(`no JetStream ack for ${ackTimeoutMs} ms`));
    },
    Math.max(50, ackTimeoutMs / 4),
  );

/** Calls `onChange` when the connection is lost (false) and when it is back (true). */
const watchConnection = (nc: NatsConnection, onChange: (connected: boolean) => void) => {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) onChange(false);
      else if (status.type === Events.Reconnect) onChange(true);
    }
  })();
};

/**
 * Publishes a batch to JetStream with up to `window` messages in flight and resolves once every
 * message is acked.
 *
 * Why not `js.publish` per message: each is a request with its own timer and stack trace, much
 * slower at fan-out scale (README, Performance). Why order holds with many in flight: the server stores what one
 * connection sends in the order sent, so when the connection drops, what got stored is a prefix
 * of the batch. Every message goes out on the connection the batch started on, or not at all
 * (nats.js discards what it buffered for a dead connection when it redials, and nothing is sent
 * once the connection changed), so nothing leaks out later behind the gap. Re-publishing from the
 * first unacked message keeps each owner's order; JetStream drops what was stored unacked as a
 * duplicate of its Nats-Msg-Id.
 */
export const createPipelinedPublisher = (
  nc: NatsConnection,
  options: PipelinedPublisherOptions = {},
) => {
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  const window = options.window ?? 2000;
  const inbox = createInbox();
  let nextToken = 0;
  let current: { batch: PendingBatch; resolve(): void; reject(error: Error): void } | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let connected = !nc.isClosed();

  const settle = (error?: Error) => {
    const settling = current;
    if (!settling) return;
    current = undefined;
    clearInterval(watchdog);
    if (!error) return settling.resolve();
    settling.reject(new PublishFailed(error.message, settling.batch.ackedPrefix()));
  };

  /** Tops the batch up to `window` in flight, on the connection it started on, or fails it. */
  const send = (batch: PendingBatch) => {
    if (!connected || nc.info?.client_id !== batch.clientID)
      return settle(new Error('NATS connection changed while publishing'));
    try {
      batch.send(nc, inbox, window);
    } catch (error) {
      settle(error as Error);
    }
  };

  const onAck = (error: NatsError | null, msg: Msg) => {
    const batch = current?.batch;
    if (!batch) return;
    if (error) return settle(error);
    const taken = batch.ack(Number(msg.subject.slice(inbox.length + 1)) - batch.firstToken, msg);
    if (taken instanceof Error) return settle(taken);
    if (taken === 'done') return settle();
    if (taken === 'more' && batch.sent < batch.messages.length && batch.inFlight() <= window / 2)
      send(batch);
  };

  const subscription: Subscription = nc.subscribe(`${inbox}.*`, { callback: onAck });

  watchConnection(nc, (now) => {
    connected = now;
    if (!now) settle(new Error('NATS connection lost while publishing'));
    options.onConnectionChange?.(now);
  });

  return {
    connected: () => connected && !nc.isClosed(),

    /** Resolves when JetStream acked every message; rejects with PublishFailed otherwise. */
    publish(messages: readonly OutgoingMessage[]): Promise<void> {
      if (messages.length === 0) return Promise.resolve();
      if (current) return Promise.reject(new Error('a batch is already in flight'));
      const clientID = nc.info?.client_id;
      if (!connected || nc.isClosed() || clientID === undefined)
        return Promise.reject(new PublishFailed('NATS is not connected', 0));
      const batch = new PendingBatch(messages, nextToken, clientID);
      nextToken += messages.length;
      return new Promise<void>((resolve, reject) => {
        current = { batch, resolve, reject };
        watchdog = watchProgress(batch, ackTimeoutMs, settle);
        send(batch);
      });
    },

    close() {
      settle(new Error('publisher closed'));
      subscription.unsubscribe();
    },
  };
};

export type PipelinedPublisher = ReturnType<typeof createPipelinedPublisher>;
