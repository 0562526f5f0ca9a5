import type { Config } from '@im/api';
import type { JsMsg, NatsConnection } from 'nats';

/** A callback as a consumer reads it off the stream: its Nats-Msg-Id, owner, name and body. */
export interface Delivered {
  msgID: string;
  userID: string;
  name: string;
  version: number;
  data: any;
}

export const toDelivered = (msg: JsMsg): Delivered => {
  const body = msg.json<{ userID: string; version: number; data: unknown }>();
  return {
    msgID: msg.headers?.get('Nats-Msg-Id') ?? '',
    userID: body.userID,
    name: msg.subject.split('.').at(-1) ?? '',
    version: body.version,
    data: body.data,
  };
};

/** A callback as the test collector read it off the stream, with its subject. */
export interface ReceivedCallback extends Delivered {
  subject: string;
}

/** Everything on the callback stream from its start, read by an ordered consumer. */
export const collectCallbacks = async (nc: NatsConnection, config: Config) => {
  const received: ReceivedCallback[] = [];
  const consumer = await nc.jetstream().consumers.get(config.STREAM_NAME);
  const messages = await consumer.consume();
  const waiters = new Set<() => void>();
  void (async () => {
    for await (const msg of messages as AsyncIterable<JsMsg>) {
      received.push({ subject: msg.subject, ...toDelivered(msg) });
      for (const wake of waiters) wake();
    }
  })();
  return {
    received,
    /** Resolves with the callbacks once `done` holds for them; fails after `timeoutMs`. */
    until(
      done: (all: ReceivedCallback[]) => boolean,
      timeoutMs = 15_000,
    ): Promise<ReceivedCallback[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(received)) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(received);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`callbacks not as expected after ${timeoutMs} ms; got ${received.length}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => messages.close(),
  };
};
