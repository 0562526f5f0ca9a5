import { headers, type Msg, type NatsConnection } from 'nats';
import type { OutgoingMessage } from './callback.ts';

const decoder = new TextDecoder();

interface JetStreamAck {
  stream?: string;
  error?: { code: number; description: string };
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
    readonly messages: readonly OutgoingMessage[],
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
      const message = this.messages[this.sent] as OutgoingMessage;
      const h = headers();
      h.set('Nats-Msg-Id', message.msgID);
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
    const subject = this.messages[index]?.subject;
    if (msg.headers?.hasError) {
      return new Error(
        `JetStream did not take ${subject}: ${msg.headers.code} ${msg.headers.description}`,
      );
    }
    const ack = JSON.parse(decoder.decode(msg.data)) as JetStreamAck;
    if (ack.error)
      return new Error(`JetStream refused ${subject}: ${ack.error.code} ${ack.error.description}`);
    this.acked[index] = 1;
    this.remaining -= 1;
    this.lastProgressAt = Date.now();
    return this.remaining === 0 ? 'done' : 'more';
  }
}
