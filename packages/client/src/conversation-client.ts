import {
  type ErrorReply,
  errorReplySchema,
  type Method,
  type ReplyOf,
  type RequestOf,
  replySchemas,
  requestSchemas,
} from '@im/domain';
import type { NatsConnection } from 'nats';
import { ConversationError } from './conversation-error.ts';

export interface ConversationClientOptions {
  /** The engine's SUBJECT_PREFIX (default `im.conversation`). */
  subjectPrefix?: string;
  /** How long a request waits for its answer (default 10 s). */
  timeoutMs?: number;
  /** Check every reply against its schema, and fail on a stray field (default off: tests). */
  checkReplies?: boolean;
}

/** A request's outcome without throwing: the reply, or the engine's error. */
export type Outcome<M extends Method> =
  | { ok: true; reply: ReplyOf<M> }
  | { ok: false; error: ErrorReply };

/** One method per endpoint: the request as the engine validates it, the reply as it answers. */
export type ConversationMethods = {
  [M in Method]: (request: RequestOf<M>) => Promise<ReplyOf<M>>;
};

export interface ConversationClient extends ConversationMethods {
  /** Sends a request and answers its outcome, an error included, without throwing it. */
  call<M extends Method>(
    method: M,
    request: RequestOf<M>,
    options?: { timeoutMs?: number },
  ): Promise<Outcome<M>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A typed client of the conversation engine for services that call it over NATS. Each method
 * sends `<subjectPrefix>.<method>` and resolves with the reply, or rejects with a
 * ConversationError carrying errCode, errMsg and errDlt.
 */
export const createConversationClient = (
  nc: NatsConnection,
  options: ConversationClientOptions = {},
): ConversationClient => {
  const prefix = options.subjectPrefix ?? 'im.conversation';
  const timeout = options.timeoutMs ?? 10_000;
  const call = async <M extends Method>(
    method: M,
    request: RequestOf<M>,
    callOptions: { timeoutMs?: number } = {},
  ): Promise<Outcome<M>> => {
    const msg = await nc.request(`${prefix}.${method}`, encoder.encode(JSON.stringify(request)), {
      timeout: callOptions.timeoutMs ?? timeout,
    });
    const body: unknown = JSON.parse(decoder.decode(msg.data));
    if (msg.headers?.get('Nats-Service-Error-Code'))
      return { ok: false, error: errorReplySchema.parse(body) };
    const reply = options.checkReplies ? replySchemas[method].parse(body) : body;
    return { ok: true, reply: reply as ReplyOf<M> };
  };
  const methods = Object.fromEntries(
    (Object.keys(requestSchemas) as Method[]).map((method) => [
      method,
      async (request: never) => {
        const outcome = await call(method, request);
        if (!outcome.ok) throw new ConversationError(outcome.error, method);
        return outcome.reply;
      },
    ]),
  ) as unknown as ConversationMethods;
  return { ...methods, call };
};
