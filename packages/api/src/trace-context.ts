import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServiceMsg } from 'nats';

/** W3C Trace Context's traceparent, version 00: trace id and parent id not all zeros. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

const current = new AsyncLocalStorage<string>();

/** The request's `traceparent` header, when it is a well-formed one (others are ignored). */
export const traceparentOf = (msg: ServiceMsg): string | undefined => {
  const value = msg.headers?.get('traceparent')?.trim().toLowerCase();
  return value && TRACEPARENT.test(value) ? value : undefined;
};

/** Runs `work` with the request's traceparent at hand for the events it appends. */
export const withTraceparent = <T>(traceparent: string | undefined, work: () => T): T =>
  traceparent === undefined ? work() : current.run(traceparent, work);

/** The traceparent of the request being handled, if it came with one. */
export const currentTraceparent = (): string | undefined => current.getStore();
