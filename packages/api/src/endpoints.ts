import type { Method } from '@im/domain';
import { commandHandlers } from './endpoints/command-handlers.ts';
import type { HandlerTable } from './endpoints/handler.ts';
import { queryHandlers } from './endpoints/query-handlers.ts';
import type { SyncHandler } from './sync.ts';

export type Handlers = HandlerTable<Method>;

/** Every method's handler: the queries, the commands, and the sync. */
export const createHandlers = (sync: SyncHandler): Handlers => ({
  ...queryHandlers,
  ...commandHandlers,
  syncConversations: sync,
});
