import type { Method } from '@im/domain';
import { commandHandlers } from './endpoints/command-handlers.ts';
import type { Handler, HandlerTable } from './endpoints/handler.ts';
import { queryHandlers } from './endpoints/query-handlers.ts';
import type { SyncHandler } from './sync.ts';

export type Handlers = HandlerTable<Method>;

/** The owners whose conversations a command may change, as its request names them. */
const ownersOf = (request: Record<string, unknown>): string[] =>
  [request.userID, request.sendID, request.recvID, request.userIDs]
    .flat()
    .filter((owner): owner is string => typeof owner === 'string');

/** Each command, followed on success by telling the read route whom it wrote for. */
const rememberingWrites = <M extends Method>(handlers: HandlerTable<M>): HandlerTable<M> => {
  const wrapped: Partial<Record<Method, Handler<Method>>> = {};
  for (const [method, handler] of Object.entries(handlers) as [M, Handler<Method>][]) {
    wrapped[method] = async (context, request) => {
      const result = await handler(context, request);
      if (result.ok) await context.reads.wrote(ownersOf(request as Record<string, unknown>));
      return result;
    };
  }
  return wrapped as HandlerTable<M>;
};

/** Every method's handler: the queries, the commands, and the sync. */
export const createHandlers = (sync: SyncHandler): Handlers => ({
  ...queryHandlers,
  ...rememberingWrites(commandHandlers),
  syncConversations: sync,
});
