import { connect, type Msg, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPrivateNats } from '../../../../test/support/private-nats.ts';
import type { OutgoingMessage } from './callback.ts';
import { createPipelinedPublisher, PublishFailed } from './pipelined-publish.ts';

const encoder = new TextEncoder();
const messages = (subject: string, count: number): OutgoingMessage[] =>
  Array.from({ length: count }, (_, i) => ({
    subject,
    data: encoder.encode(String(i)),
    msgID: `${subject}-${i}`,
  }));

/**
 * Stands in for JetStream on `subject`: collects what arrives and answers each with an ack the
 * way JetStream does, but in the order `answer` decides once `count` messages are in.
 */
const responder = (
  nc: NatsConnection,
  subject: string,
  count: number,
  answer: (received: Msg[]) => Array<{ msg: Msg; ack: object }>,
) => {
  const received: Msg[] = [];
  nc.subscribe(subject, {
    callback: (_, msg) => {
      received.push(msg);
      if (received.length < count) return;
      for (const { msg: original, ack } of answer(received))
        original.respond(encoder.encode(JSON.stringify(ack)));
    },
  });
  return received;
};

describe('the pipelined publisher', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: inject('natsUrl') });
  });
  afterAll(() => nc.close());

  it('takes acks in any order, and resolves once every message is acked', async () => {
    const subject = `pp.out-of-order.${Date.now()}`;
    const received = responder(nc, subject, 50, (all) =>
      [...all].reverse().map((msg, i) => ({ msg, ack: { stream: 'S', seq: i + 1 } })),
    );
    await nc.flush();
    const publisher = createPipelinedPublisher(nc, { window: 100 });
    await publisher.publish(messages(subject, 50));
    expect(received.map((msg) => msg.headers?.get('Nats-Msg-Id'))).toEqual(
      messages(subject, 50).map((m) => m.msgID),
    );
    publisher.close();
  });

  it('fails a batch JetStream refused a message of, saying how many from the first were acked', async () => {
    const subject = `pp.refused.${Date.now()}`;
    responder(nc, subject, 10, (all) =>
      all.map((msg, i) => ({
        msg,
        ack: i === 6 ? { error: { code: 503, description: 'no room' } } : { stream: 'S', seq: i },
      })),
    );
    await nc.flush();
    const publisher = createPipelinedPublisher(nc);
    const failure = await publisher.publish(messages(subject, 10)).catch((error) => error);
    expect(failure).toBeInstanceOf(PublishFailed);
    expect(failure.message).toMatch(/refused .* 503 no room/);
    expect(failure.acked).toBe(6);
    publisher.close();
  });

  it('fails a batch whose connection drops, and publishes again once the server is back', async () => {
    const server = await startPrivateNats();
    const own = await connect({
      servers: server.url,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    });
    try {
      const changes: boolean[] = [];
      const publisher = createPipelinedPublisher(own, {
        onConnectionChange: (connected) => changes.push(connected),
      });
      // Nothing answers on this subject: the batch waits for acks until the server goes away.
      const waiting = publisher.publish(messages('pp.unanswered', 5)).catch((error) => error);
      await own.flush();
      await server.kill();
      const failure = await waiting;
      expect(failure).toBeInstanceOf(PublishFailed);
      expect(failure.acked).toBe(0);
      // The loss may fail the batch (its acks' subscription) before the status event arrives.
      await expect.poll(() => publisher.connected()).toBe(false);

      await server.start();
      await expect.poll(() => publisher.connected(), { timeout: 10_000 }).toBe(true);
      responder(own, 'pp.after', 3, (all) => all.map((msg, i) => ({ msg, ack: { seq: i } })));
      await own.flush();
      await publisher.publish(messages('pp.after', 3));
      expect(changes).toEqual([false, true]);
      publisher.close();
    } finally {
      await own.close();
      await server.remove();
    }
  });
});
