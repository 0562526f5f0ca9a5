import {
  createInbox,
  Events,
  headers,
  type Msg,
  type NatsConnection,
  type NatsError,
  type Subscription,
} from 'nats';
import type { OutgoingMessage } from './callback.ts';

const decoder = new TextDecoder();

interface JetStreamAck {
  stream?: string;
  error?: { code: number; description: string };
}

/**
 * A batch's messages, made when sent: an array, or one that encodes message i only then, so a
 * group message's tens of thousands of bodies are never in memory at once.
 */
export interface OutgoingMessages {
  readonly length: number;
  at(index: number): OutgoingMessage | undefined;
}

/**
 * One batch on its way to JetStream: which of its messages went out, which were acked. Message i
 * asks for its ack on `<inbox>.<firstToken + i>`, so acks may come in any order.
 */
export class PendingBatch {
  sent = 0;
  remaining: number;
  readonly acked: Uint8Array;
  lastProgressAt = Date.now();

  constructor(
    readonly messages: OutgoingMessages,
    /** The reply token of the first message. */
    readonly firstToken: number,
    /** The connection the batch started on: all of it goes out on that one, or none of the rest. */
    readonly clientID: number,
  ) {
    this.remaining = messages.length;
    this.acked = new Uint8Array(messages.length);
  }

  /** How many messages, from the first, JetStream acked without a gap. */
  ackedPrefix(): number {
    const first = this.acked.indexOf(0);
    return first === -1 ? this.acked.length : first;
  }

  inFlight(): number {
    return this.sent - (this.messages.length - this.remaining);
  }

  /** Sends, in one synchronous burst, until `window` are in flight or all are sent. */
  send(nc: NatsConnection, inbox: string, window: number): void {
    const until = Math.min(this.messages.length, this.messages.length - this.remaining + window);
    for (; this.sent < until; this.sent++) {
      const message = this.messages.at(this.sent) as OutgoingMessage;
      const h = headers();
      h.set('Nats-Msg-Id', message.msgID);
      if (message.traceparent) h.set('traceparent', message.traceparent);
      nc.publish(message.subject, message.data, {
        reply: `${inbox}.${this.firstToken + this.sent}`,
        headers: h,
      });
    }
  }

  /**
   * Takes the ack of message `index`: an Error when JetStream refused it, 'done' when it was the
   * last one due, else 'more'. An ack of another attempt (an older token) is ignored (undefined).
   */
  ack(index: number, msg: Msg): Error | 'done' | 'more' | undefined {
    if (!(index >= 0 && index < this.acked.length) || this.acked[index]) return undefined;
    const subject = () => this.messages.at(index)?.subject;
    if (msg.headers?.hasError) {
      return new Error(
        `JetStream did not take ${subject()}: ${msg.headers.code} ${msg.headers.description}`,
      );
    }
    const ack = JSON.parse(decoder.decode(msg.data)) as JetStreamAck;
    if (ack.error)
      return new Error(
        `JetStream refused ${subject()}: ${ack.error.code} ${ack.error.description}`,
      );
    this.acked[index] = 1;
    this.remaining -= 1;
    this.lastProgressAt = Date.now();
    return this.remaining === 0 ? 'done' : 'more';
  }
}

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
    publish(messages: OutgoingMessages): Promise<void> {
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
