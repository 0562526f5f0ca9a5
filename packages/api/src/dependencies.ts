import type { Logger } from '@im/domain';
import { openDatabase, StorageUnavailable } from '@im/eventstore';
import { type EngineSchema, ensureCallbackStream } from '@im/projector';
import { type Config, callbackPrefix } from './config.ts';
import { StartupFailure } from './errors.ts';
import { migrateToLatest } from './migrate.ts';
import { connectNats } from './nats-connection.ts';
import { untilAvailable, withoutPassword } from './until-available.ts';

/** JetStream's placement error: fewer JetStream servers known than the stream's replicas. */
const NO_SUITABLE_PEERS = 10005;

/**
 * Errors of a JetStream that is not ready yet: a cluster still electing its leader answers with a
 * timeout or 503, and one whose servers have not all joined has no peers to place replicas on.
 */
const jetStreamForming = (error: unknown): boolean => {
  const { code, api_error } = error as { code?: string; api_error?: { err_code?: number } };
  return ['TIMEOUT', '503'].includes(String(code)) || api_error?.err_code === NO_SUITABLE_PEERS;
};

/**
 * Opens the database and migrates it, and connects NATS and makes sure of the callback stream;
 * both at once, so that start-up says at once everything it waits for.
 */
export const connectDependencies = async (config: Config, logger: Logger) => {
  const database = await openDatabase<EngineSchema>({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
  });
  const [, nc] = await Promise.all([
    untilAvailable(
      { name: 'PostgreSQL', url: withoutPassword(config.DATABASE_URL ?? config.DATA_DIR) },
      () => migrateToLatest(database),
      logger,
      { retry: (error) => error instanceof StorageUnavailable },
    ),
    connectNats(config, `${config.INSTANCE_ID} conversation-engine`, logger),
  ]);
  const natsUrl = config.NATS_URL.split(',').map(withoutPassword).join(',');
  // A server without JetStream says so when it greets: no waiting will mend that.
  if (nc.info && !nc.info.jetstream) {
    await nc.close();
    await database.close();
    throw new StartupFailure(
      `NATS at ${natsUrl} runs without JetStream, which the callbacks need: start nats-server with -js`,
    );
  }
  // A JetStream cluster that is still electing its leader answers with a timeout or 503.
  await untilAvailable(
    {
      name: 'JetStream',
      url: natsUrl,
      hint: 'nats-server runs with -js (a cluster: of enough nodes for STREAM_REPLICAS)',
    },
    async () =>
      ensureCallbackStream(await nc.jetstreamManager(), {
        name: config.STREAM_NAME,
        subjectPrefix: callbackPrefix(config),
        duplicateWindowMs: config.STREAM_DUPLICATE_WINDOW_MS,
        maxAgeMs: config.STREAM_MAX_AGE_MS,
        maxBytes: config.STREAM_MAX_BYTES,
        maxMsgsPerSubject: config.STREAM_MAX_MSGS_PER_SUBJECT,
        replicas: config.STREAM_REPLICAS,
      }),
    logger,
    { retry: jetStreamForming },
  );
  return { database, nc };
};
