import type { Logger } from '@im/domain';
import { createAppendNotice, createAppendQueue } from '@im/eventstore';
import {
  createListCache,
  createProjectionWatcher,
  type EngineDatabase,
  ensureLayout,
  type ProjectionWatcher,
} from '@im/projector';
import type { NatsConnection, Service } from 'nats';
import { createKnownVersions } from './commands/known-versions.ts';
import { createOneAtATime } from './commands/one-at-a-time.ts';
import {
  createDecisionStateLoader,
  createStateLoader,
  createVersionLoader,
} from './commands/turn-loaders.ts';
import { type Config, callbackPrefix, projectorThreads, readReplicaUrls } from './config.ts';
import type { EngineContext } from './context.ts';
import { connectDependencies } from './dependencies.ts';
import { createHandlers } from './endpoints.ts';
import { startMessageDestruct } from './message-destruct.ts';
import { createMetrics, serveMetrics } from './metrics.ts';
import { createOutageLog } from './outage-log.ts';
import { createProjectionHost, type ProjectionHost } from './projection/projection-host.ts';
import { createReadRoute, type ReadRoute } from './read-replicas.ts';
import { startService } from './service.ts';
import { createSyncHandler } from './sync.ts';
import { startTimedRecvMsgOpt } from './timed-recv-msg-opt.ts';
import { withoutPassword } from './until-available.ts';

export interface Engine {
  database: EngineDatabase;
  nc: NatsConnection;
  service: Service;
  stats(): Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Queries on the read replicas, if any; the engines tell each other whose writes they answered
 * (`<prefix>.internal.wrote`), so a query that follows a command on any of them waits for it.
 */
const openReadRoute = async (
  config: Config,
  database: EngineDatabase,
  nc: NatsConnection,
  logger: Logger,
): Promise<ReadRoute> => {
  const replicaUrls = readReplicaUrls(config);
  if (replicaUrls.length > 0 && database.kind !== 'postgres')
    logger.warn('DATABASE_READ_URL needs DATABASE_URL: every query reads the embedded database');
  const subject = `${config.SUBJECT_PREFIX}.internal.wrote`;
  const reads = await createReadRoute({
    primary: database,
    replicaUrls: database.kind === 'postgres' ? replicaUrls : [],
    waitMs: config.READ_REPLICA_WAIT_MS,
    poolSize: 10,
    logger: logger.child({ component: 'read-replicas' }),
    announce: (owners, lsn) =>
      nc.publish(subject, JSON.stringify({ from: config.INSTANCE_ID, owners, lsn })),
  });
  if (reads.stats())
    nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return;
        const notice = msg.json<{ from: string; owners: string[]; lsn: number }>();
        if (notice.from !== config.INSTANCE_ID) reads.heard(notice.owners, notice.lsn);
      },
    });
  return reads;
};

/** The state every handler shares, made once per engine. */
const createContext = (
  config: Config,
  parts: {
    database: EngineDatabase;
    nc: NatsConnection;
    watcher: ProjectionWatcher;
    projection: ProjectionHost;
    logger: Logger;
    partitions: number;
    reads: ReadRoute;
  },
): EngineContext => {
  const { database, nc, projection, partitions } = parts;
  const announceAppend = createAppendNotice(database.db);
  return {
    database,
    partitions,
    turns: createOneAtATime(),
    knownVersions: createKnownVersions(),
    decisionStates: createDecisionStateLoader(database, partitions),
    appends: createAppendQueue(database.db, {
      logger: parts.logger.child({ component: 'appends' }),
    }),
    states: createStateLoader(database),
    versions: createVersionLoader(database),
    watcher: parts.watcher,
    reads: parts.reads,
    listCache: createListCache({ maxBytes: config.LIST_CACHE_MB * 1024 * 1024 }),
    logger: parts.logger,
    outage: createOutageLog(database.health, parts.logger),
    wakeProjector: () => {
      // Projectors of other processes hear of this process's appends by notice.
      const held = projection.held().length;
      if (held > 0) projection.wake();
      if (held < partitions) announceAppend();
    },
    now: Date.now,
    readYourWritesTimeoutMs: config.READ_YOUR_WRITES_TIMEOUT_MS,
    maxPayload: () => nc.info?.max_payload ?? 1024 * 1024,
  };
};

/** The database's number of partitions (a new one's is PROJECTOR_PARTITIONS). */
const databasePartitions = async (config: Config, database: EngineDatabase, logger: Logger) => {
  const { partitions } = await ensureLayout(database.db, config.PROJECTOR_PARTITIONS);
  if (partitions !== config.PROJECTOR_PARTITIONS)
    logger.warn('the database keeps its number of partitions; a rebuild changes it', {
      partitions,
      PROJECTOR_PARTITIONS: config.PROJECTOR_PARTITIONS,
      change: `PROJECTOR_PARTITIONS=${config.PROJECTOR_PARTITIONS} pnpm cli rebuild`,
    });
  return partitions;
};

/** The projection host of the engine's partitions, telling the watcher where each partition got. */
const createProjection = (
  parts: { config: Config; database: EngineDatabase; nc: NatsConnection; logger: Logger },
  layout: { partitions: number; threads: number },
  watcher: ProjectionWatcher,
) => {
  const { logger } = parts;
  const { partitions } = layout;
  return createProjectionHost({
    ...parts,
    ...layout,
    onProjected(checkpoints) {
      for (const [partition, checkpoint] of checkpoints)
        watcher.advance([partition], checkpoint.position);
    },
    onLayoutChanged(now) {
      // Every handler counts on the layout it started with: the process starts anew with it.
      logger.error('a rebuild changed the number of partitions; stopping: restart the engine', {
        partitions: now,
        was: partitions,
      });
      process.kill(process.pid, 'SIGTERM');
    },
  });
};

/** Metrics only where they are served: nothing is counted, and no process metrics run, otherwise. */
const metricsIfServed = async (
  config: Config,
  sources: Parameters<typeof createMetrics>[0],
  logger: Logger,
) =>
  config.METRICS_PORT === undefined
    ? undefined
    : serveMetrics(createMetrics(sources), config.METRICS_PORT, logger);

/**
 * Opens storage, migrates, connects NATS, and runs the projection (projector and publisher, on
 * worker threads or here) and the service.
 */
export const startEngine = async (config: Config, logger: Logger): Promise<Engine> => {
  const { database, nc } = await connectDependencies(config, logger);
  const partitions = await databasePartitions(config, database, logger);
  const watcher = await createProjectionWatcher(database, { partitions });
  const threads = database.kind === 'postgres' ? projectorThreads(config) : 1;
  const projection = createProjection(
    { config, database, nc, logger },
    { partitions, threads },
    watcher,
  );
  const reads = await openReadRoute(config, database, nc, logger);
  const context = createContext(config, {
    database,
    nc,
    watcher,
    projection,
    logger,
    partitions,
    reads,
  });
  const stats = () => {
    const figures = projection.stats();
    return {
      instance: config.INSTANCE_ID,
      partitions: figures.projector.partitions,
      ...figures,
      threads,
      database: database.kind,
      ...reads.stats(),
    };
  };
  await projection.start();
  const metrics = await metricsIfServed(
    config,
    { projection: () => projection.stats(), listCache: () => context.listCache.stats() },
    logger,
  );
  const service = await startService({
    nc,
    context,
    handlers: createHandlers(createSyncHandler(nc.jetstream(), callbackPrefix(config))),
    subjectPrefix: config.SUBJECT_PREFIX,
    stats,
    ...(metrics ? { answered: metrics.answered } : {}),
  });
  const timers = startTimedRecvMsgOpt(context, { held: () => projection.held(), logger });
  const destruct = startMessageDestruct(context, {
    held: () => projection.held(),
    logger,
    everyMs: config.MESSAGE_DESTRUCT_EVERY_MS,
  });
  // Once the server has the endpoints' subscriptions, a request sent now finds a responder.
  await nc.flush();
  logger.info('engine started', {
    database: database.kind,
    nats: config.NATS_URL.split(',').map(withoutPassword).join(','),
    prefix: config.SUBJECT_PREFIX,
  });
  return {
    database,
    nc,
    service,
    stats,
    async stop() {
      await service.stop();
      await timers.stop();
      await destruct.stop();
      await metrics?.close();
      await projection.stop();
      await watcher.close();
      await nc.drain();
      await reads.close();
      await database.close();
    },
  };
};
