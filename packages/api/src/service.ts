import { describeIssues, type Method, requestSchemas } from '@im/domain';
import type { NatsConnection, Service, ServiceMsg } from 'nats';
import type { EngineContext } from './context.ts';
import type { Handlers } from './endpoints.ts';
import { describeFailure, respondError } from './failures.ts';
import { causeOf, traceparentOf } from './request-context.ts';
import { SerializedReply } from './serialized-reply.ts';

export const SERVICE_NAME = 'conversation-engine';
export const SERVICE_VERSION = '0.1.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const parse = (msg: ServiceMsg): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(decoder.decode(msg.data)) };
  } catch {
    return { ok: false };
  }
};

export interface ServiceOptions {
  nc: NatsConnection;
  context: EngineContext;
  handlers: Handlers;
  subjectPrefix: string;
  /** Extra figures for `$SRV.STATS` (projection lag, throughput). */
  stats: () => unknown;
  /** Each request's method, code (200 for success) and seconds, for the metrics. */
  answered?: (method: Method, code: number, seconds: number) => void;
}

/** Registers `conversation-engine` with the NATS services API, one endpoint per method. */
export const startService = async (options: ServiceOptions): Promise<Service> => {
  const { nc, context, handlers, subjectPrefix } = options;
  const service = await nc.services.add({
    name: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: 'Conversation lists, unread counts and read state (OpenIM conversation API)',
    queue: SERVICE_NAME,
    statsHandler: async () => options.stats(),
  });

  const handle = async (method: Method, msg: ServiceMsg) => {
    const started = performance.now();
    const code = await answer(method, msg);
    options.answered?.(method, code, (performance.now() - started) / 1000);
  };

  /** Answers the request; resolves with the code it answered (200 for success). */
  const answer = async (method: Method, msg: ServiceMsg): Promise<number> => {
    const failed = (code: number, message: string, detail?: string) => {
      respondError(msg, code, message, detail);
      return code;
    };
    const body = parse(msg);
    if (!body.ok) return failed(400, 'request: not valid JSON');
    const parsed = requestSchemas[method].safeParse(body.value);
    if (!parsed.success) {
      const { code, message } = describeIssues(parsed.error);
      return failed(code, message);
    }
    const request = parsed.data as Record<string, unknown>;
    const operationID = request.operationID as string | undefined;
    try {
      // The events the request appends keep its traceparent and cause (request-context.ts).
      const traceparent = traceparentOf(msg);
      const requestContext = {
        ...(traceparent ? { traceparent } : {}),
        cause: causeOf(method, request),
      };
      const result = await (
        handlers[method] as (c: EngineContext, r: unknown) => ReturnType<Handlers[Method]>
      )({ ...context, request: requestContext }, request);
      if (!result.ok) return failed(result.error.code, result.error.message);
      const reply =
        result.value instanceof SerializedReply
          ? result.value.bytes
          : encoder.encode(JSON.stringify(result.value));
      if (reply.length > context.maxPayload()) {
        return failed(
          413,
          `reply: ${reply.length} bytes exceed the ${context.maxPayload()}-byte limit; page with getConversationListPage`,
        );
      }
      msg.respond(reply);
      return 200;
    } catch (error) {
      const failure = describeFailure(error, { method, operationID }, context);
      return failed(failure.code, failure.message, operationID ?? '');
    }
  };

  for (const method of Object.keys(requestSchemas) as Method[]) {
    service.addEndpoint(method, {
      subject: `${subjectPrefix}.${method}`,
      handler: (error, msg) => {
        if (error) {
          context.logger.error('endpoint subscription failed', { method, error });
          return;
        }
        void handle(method, msg);
      },
    });
  }
  return service;
};
