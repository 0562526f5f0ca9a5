import { availableParallelism, hostname } from 'node:os';
import { z } from 'zod';

const optional = z.string().min(1).optional();
const integer = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const ConfigSchema = z.object({
  DATABASE_URL: optional,
  /** Hot standbys of DATABASE_URL, comma separated: queries read there. */
  DATABASE_READ_URL: optional,
  READ_REPLICA_WAIT_MS: z.coerce.number().int().nonnegative().default(100),
  DATA_DIR: z.string().default('./.data'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  NATS_USER: optional,
  NATS_PASSWORD: optional,
  NATS_TOKEN: optional,
  NATS_CREDS: optional,
  NATS_TLS_CA: optional,
  NATS_TLS_CERT: optional,
  NATS_TLS_KEY: optional,
  SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/)
    .default('im.conversation'),
  STREAM_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('IM_CONVERSATION_EVENTS'),
  STREAM_DUPLICATE_WINDOW_MS: integer(120_000),
  STREAM_MAX_AGE_MS: integer(7 * 24 * 3600 * 1000),
  STREAM_MAX_BYTES: integer(1024 ** 3),
  STREAM_MAX_MSGS_PER_SUBJECT: integer(100),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  PROJECTOR_BATCH_SIZE: integer(1000),
  PROJECTOR_PARTITIONS: z.coerce.number().int().min(1).max(64).default(16),
  PROJECTOR_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  READ_YOUR_WRITES_TIMEOUT_MS: integer(10_000),
  LIST_CACHE_MB: z.coerce.number().int().nonnegative().default(16),
  /** How often self-destructing messages are looked for (SPEC §8.2 rule 22: within a minute). */
  MESSAGE_DESTRUCT_EVERY_MS: integer(10_000),
  /** Serves Prometheus metrics at GET /metrics on this port; unset: none. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  INSTANCE_ID: z.string().default(`${hostname()}:${process.pid}`),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Configuration from the environment (see README "Configuration"); a bad value stops start-up. */
export const loadConfig = (env: Record<string, string | undefined> = process.env): Config => {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new Error(`bad configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
};

/**
 * Threads that project: PROJECTOR_THREADS, else the cores this process has, but one when
 * PostgreSQL runs on this machine (a loopback or socket URL, or the embedded one): there it
 * shares the cores, and a second projection thread measured slower and larger (docs/scaling.md).
 */
export const projectorThreads = (config: Config): number => {
  if (config.PROJECTOR_THREADS !== undefined) return config.PROJECTOR_THREADS;
  if (!config.DATABASE_URL) return 1;
  let host = '';
  try {
    host = decodeURIComponent(new URL(config.DATABASE_URL).hostname);
  } catch {
    return availableParallelism();
  }
  const local =
    host === '' ||
    host === 'localhost' ||
    host.startsWith('/') ||
    host.startsWith('127.') ||
    host === '[::1]' ||
    host === '::1';
  return local ? 1 : availableParallelism();
};

/** The read replicas' URLs, none when DATABASE_READ_URL is unset. */
export const readReplicaUrls = (config: Config): string[] =>
  (config.DATABASE_READ_URL ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);

/** Where callbacks go: `<prefix>.events.<userID>.<callback>` (SPEC §5). */
export const callbackPrefix = (config: Config) => `${config.SUBJECT_PREFIX}.events`;
