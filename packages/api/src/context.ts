import type { Logger } from '@im/domain';
import type { AppendQueue } from '@im/eventstore';
import type { EngineDatabase, ListCache, ProjectionWatcher } from '@im/projector';
import type { KnownVersions } from './commands/known-versions.ts';
import type { OneAtATime } from './commands/one-at-a-time.ts';
import type { DecisionStateLoader, StateLoader, VersionLoader } from './commands/turn-loaders.ts';
import type { OutageLog } from './outage-log.ts';
import type { ReadRoute } from './read-replicas.ts';
import type { RequestContext } from './request-context.ts';

/** What command and query handlers need from the running engine; made once per engine. */
export interface EngineContext {
  /** The request being handled, its cause and traceparent: none outside one. */
  request?: RequestContext;
  database: EngineDatabase;
  /** The database's number of partitions (its projection layout). */
  partitions: number;
  /** Commands of one stream, one at a time in this process. */
  turns: OneAtATime;
  /** Where this process last left the message streams it appended to. */
  knownVersions: KnownVersions;
  /** What owner commands decide on, read together for concurrent commands. */
  decisionStates: DecisionStateLoader;
  /** Conversation states for replies, read together for concurrent commands. */
  states: StateLoader;
  /** Stream versions of concurrent commands, read together. */
  versions: VersionLoader;
  /** Appends of concurrent commands, written together. */
  appends: AppendQueue;
  watcher: ProjectionWatcher;
  /** Where queries read: the primary, or a replica that has the owner's writes. */
  reads: ReadRoute;
  /** Whole lists, answered again while the owner's rows are unchanged. */
  listCache: ListCache;
  logger: Logger;
  /** Counts the requests PostgreSQL's absence failed, for the line that says it is back. */
  outage: OutageLog;
  /** Tells the projector, here or in the process that leads, that this process just appended. */
  wakeProjector(): void;
  now(): number;
  /** How long a command waits for the projector: for its state, then for its own effect. */
  readYourWritesTimeoutMs: number;
  /** Largest reply the NATS server carries. */
  maxPayload(): number;
}
