import type { Config } from '@im/api';
import type { JsMsg, NatsConnection } from 'nats';

/** A callback as the test collector read it off the stream. */
export interface ReceivedCallback {
  subject: string;
  userID: string;
  name: string;
  msgID: string;
  version: number;
  data: any;
}

/** Everything on the callback stream from its start, read by an ordered consumer. */
export const collectCallbacks = async (nc: NatsConnection, config: Config) => {
  const received: ReceivedCallback[] = [];
  const consumer = await nc.jetstream().consumers.get(config.STREAM_NAME);
  const messages = await consumer.consume();
  const waiters = new Set<() => void>();
  void (async () => {
    for await (const msg of messages as AsyncIterable<JsMsg>) {
      const body = msg.json<{ userID: string; version: number; data: unknown }>();
      const name = msg.subject.split('.').at(-1) ?? '';
      received.push({
        subject: msg.subject,
        userID: body.userID,
        name,
        msgID: msg.headers?.get('Nats-Msg-Id') ?? '',
        version: body.version,
        data: body.data,
      });
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
