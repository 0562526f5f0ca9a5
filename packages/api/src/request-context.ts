import type { Cause, Method } from '@im/domain';
import type { ServiceMsg } from 'nats';

/** W3C Trace Context's traceparent, version 00: trace id and parent id not all zeros. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * What a request brings beside its body, kept with the events it appends (events.metadata). It
 * travels in the request's EngineContext (`request`), not in an AsyncLocalStorage: on Node 20 that
 * turns on promise hooks for the whole process, a cost on every promise of every request and batch.
 */
export interface RequestContext {
  /** Its `traceparent` header, when well-formed. */
  traceparent?: string;
  /** Who caused it (SPEC §8.2 rule 25): every callback of its events carries it. */
  cause: Cause;
}

/** The request's `traceparent` header, when it is a well-formed one (others are ignored). */
export const traceparentOf = (msg: ServiceMsg): string | undefined => {
  const value = msg.headers?.get('traceparent')?.trim().toLowerCase();
  return value && TRACEPARENT.test(value) ? value : undefined;
};

/** The cause of a validated request: its method, operationID and deviceID, a message's clientMsgID. */
export const causeOf = (method: Method, request: Record<string, unknown>): Cause => {
  const cause: Cause = { method };
  if (typeof request.operationID === 'string') cause.operationID = request.operationID;
  if (typeof request.deviceID === 'string') cause.deviceID = request.deviceID;
  if (method === 'recordMessage' && typeof request.clientMsgID === 'string')
    cause.clientMsgID = request.clientMsgID;
  return cause;
};
