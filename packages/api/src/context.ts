import type { AppendQueue, Database, LogPosition } from '@im/eventstore';
import type { ListCache, Logger, ProjectionWatcher } from '@im/projector';
import type { StateLoader } from './commands/state-loader.ts';
import type { VersionLoader } from './commands/version-loader.ts';

/** What command and query handlers need from the running engine. */
export interface EngineContext {
  database: Database;
  /** Conversation states of concurrent commands, read together. */
  states: StateLoader;
  /** Stream versions of concurrent commands, read together. */
  versions: VersionLoader;
  /** Appends of concurrent commands, written together. */
  appends: AppendQueue;
  watcher: ProjectionWatcher;
  /** Whole lists, answered again while the owner's rows are unchanged. */
  listCache: ListCache;
  logger: Logger;
  /** Tells the projector, here or in the process that leads, that this process just appended. */
  wakeProjector(): void;
  now(): number;
  readYourWritesTimeoutMs: number;
  /** Largest reply the NATS server carries. */
  maxPayload(): number;
}

/** Read your writes (SPEC §3 rule 14): returns once the projector has applied `position`. */
export const awaitProjection = async (
  context: EngineContext,
  position: LogPosition | undefined,
) => {
  if (!position) return;
  context.wakeProjector();
  const reached = await context.watcher.waitFor(position, context.readYourWritesTimeoutMs);
  if (!reached) context.logger.warn('projection did not reach a write in time', { position });
};
