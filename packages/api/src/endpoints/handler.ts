import type { Method, RequestOf, Result } from '@im/domain';
import type { EngineContext } from '../context.ts';

/** Answers one method's validated request: a reply, or a failure the caller can act on. */
export type Handler<M extends Method> = (
  context: EngineContext,
  request: RequestOf<M>,
) => Promise<Result<unknown>>;

/** Handlers for the methods `M`. */
export type HandlerTable<M extends Method> = { [K in M]: Handler<K> };
