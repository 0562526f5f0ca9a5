import type { CallbackName, Cause, ReplyOf } from '@im/domain';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { createCallbackOrder, type ReceivedCallback } from './callback-order.ts';
import { createConversationClient } from './conversation-client.ts';

export interface CallbackConsumerOptions {
  /** The gateway's name: its durable consumer on the stream, which outlives a restart. */
  gateway: string;
  /** The engine's SUBJECT_PREFIX (default `im.conversation`) and STREAM_NAME. */
  subjectPrefix?: string;
  streamName?: string;
  /** Each callback of a tracked user, new and in version order, once. */
  onCallback(callback: ReceivedCallback): void | Promise<void>;
  /**
   * A sync answer for a tracked user (when tracked, and after the stream dropped callbacks):
   * replace or update the user's list as docs/gateway-guide.md says, `nextCursor` included.
   */
  onResync(userID: string, answer: ReplyOf<'syncConversations'>): void | Promise<void>;
}

/**
 * The consumer side of docs/gateway-guide.md for a gateway: a durable consumer of the whole
 * callback stream, the callbacks of the users it tracks (those signed in to it) passed on new and
 * in order, and a resync with syncConversations when a user is tracked and whenever the stream
 * sequence jumps (the stream's limits dropped callbacks the gateway had not read).
 */
export const createCallbackConsumer = (nc: NatsConnection, options: CallbackConsumerOptions) => {
  const prefix = options.subjectPrefix ?? 'im.conversation';
  const stream = options.streamName ?? 'IM_CONVERSATION_EVENTS';
  const events = `${prefix}.events.`;
  const client = createConversationClient(nc, { subjectPrefix: prefix });
  const order = createCallbackOrder();
  const tracked = new Set<string>();
  let lastSequence: number | undefined;
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;

  const resync = async (userID: string) => {
    const sinceVersion = order.versionOf(userID);
    const answer = await client.syncConversations(
      sinceVersion === undefined ? { userID } : { userID, sinceVersion },
    );
    order.resynced(userID, answer.version);
    await options.onResync(userID, answer);
  };

  const receive = async (msg: JsMsg) => {
    const sequence = msg.info.streamSequence;
    // Every stream sequence comes in turn: a jump past the next one means callbacks were dropped.
    if (lastSequence !== undefined && sequence > lastSequence + 1)
      for (const userID of tracked) await resync(userID);
    if (lastSequence === undefined || sequence > lastSequence) lastSequence = sequence;
    const [userID, name] = msg.subject.slice(events.length).split('.');
    if (userID && name && tracked.has(userID)) {
      const body = msg.json<{ version: number; data: unknown; cause?: Cause }>();
      const callback: ReceivedCallback = {
        userID,
        name: name as CallbackName,
        version: body.version,
        data: body.data,
        msgID: msg.headers?.get('Nats-Msg-Id') ?? `${msg.info.streamSequence}`,
        ...(body.cause ? { cause: body.cause } : {}),
      };
      if (order.accept(callback)) await options.onCallback(callback);
    }
    msg.ack();
  };

  return {
    /** Passes on the user's callbacks from now on, after a sync from what the gateway had. */
    async track(userID: string) {
      tracked.add(userID);
      await resync(userID);
    },
    untrack(userID: string) {
      tracked.delete(userID);
      order.forget(userID);
    },
    /** Creates the durable consumer if it is new (from new callbacks on) and starts consuming. */
    async start() {
      const jsm = await nc.jetstreamManager();
      await jsm.consumers.add(stream, {
        durable_name: options.gateway,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        filter_subject: `${events}>`,
      });
      messages = await (await nc.jetstream().consumers.get(stream, options.gateway)).consume();
      const current = messages;
      loop = (async () => {
        for await (const msg of current) {
          // A sync that failed (the engine away) is tried again with the message's redelivery.
          await receive(msg).catch(() => msg.nak(1000));
        }
      })();
    },
    /** Stops consuming; the durable consumer stays, and a new start goes on where this one was. */
    async stop() {
      messages?.stop();
      await loop;
    },
  };
};

export type CallbackConsumer = ReturnType<typeof createCallbackConsumer>;
