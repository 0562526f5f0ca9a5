import type { CallbackName, Cause } from '@im/domain';
import type { JetStreamClient } from 'nats';

export type { CallbackName };

export interface Callback {
  userID: string;
  version: number;
  name: CallbackName;
  data: unknown;
  /** Nats-Msg-Id: unique to (owner, version, callback), so a re-publish is dropped by JetStream. */
  msgID: string;
  /** The W3C traceparent of the command that caused it, sent as the `traceparent` header. */
  traceparent?: string;
  /** Who caused it (SPEC §8.2 rule 25), in the body. */
  cause?: Cause;
}

/** A message ready for JetStream: where it goes, its bytes, and its dedupe id. */
export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  msgID: string;
  traceparent?: string;
}

const encoder = new TextEncoder();

export const callbackSubject = (prefix: string, userID: string, name: CallbackName) =>
  `${prefix}.${userID}.${name}`;

/** The id of a change callback; sync callbacks use their request's id instead. */
export const changeMsgID = (userID: string, version: number, name: CallbackName) =>
  `${userID}.${version}.${name}`;

/** SPEC §5: the body is `{userID, version, data}` on `<prefix>.<userID>.<callback>`. */
export const toMessage = (prefix: string, callback: Callback): OutgoingMessage => ({
  subject: callbackSubject(prefix, callback.userID, callback.name),
  data: encoder.encode(
    JSON.stringify({
      userID: callback.userID,
      version: callback.version,
      data: callback.data,
      ...(callback.cause === undefined ? {} : { cause: callback.cause }),
    }),
  ),
  msgID: callback.msgID,
  ...(callback.traceparent === undefined ? {} : { traceparent: callback.traceparent }),
});

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
