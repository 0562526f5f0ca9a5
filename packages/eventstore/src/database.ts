import { createHash } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { EventStoreSchema } from './schema.ts';
import { createStorageHealth, type StorageHealth } from './storage-health.ts';

// bigint columns (global positions, counters) come back as numbers; they stay below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Listener = (payload: string) => void;

/**
 * A connection to the store: Kysely for queries, plus LISTEN, which pools cannot do. `Schema` is
 * every table the code using it touches: the log's, and whatever its user keeps beside them.
 */
export interface Database<Schema extends EventStoreSchema = EventStoreSchema> {
  db: Kysely<Schema>;
  kind: 'postgres' | 'pglite';
  /** Whether PostgreSQL answers, as the last statements found. */
  health: StorageHealth;
  listen(channel: string, onNotify: Listener): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL; unset means the embedded PGlite in `dataDir`. */
  url?: string | undefined;
  dataDir?: string;
  poolSize?: number;
}

/**
 * The pool as Kysely takes it, each statement's outcome told to `health`, and a connection
 * failure raised as StorageUnavailable. Kysely keeps its connections by client: each pg client is
 * wrapped once.
 */
/** Distinct statements prepared at most: past them, new texts are planned each time they run. */
const PREPARED_STATEMENTS_MAX = 1000;

/**
 * A name for each statement with parameters that reads or writes rows, so that every connection
 * parses and plans it once (measured: planning took twice the execution time of the engine's
 * short statements). Statements are told apart by their text; DDL and statements without
 * parameters go unnamed.
 */
const createStatementNames = () => {
  const names = new Map<string, string | undefined>();
  return (text: string, values: readonly unknown[]): string | undefined => {
    const known = names.get(text);
    if (known !== undefined || names.has(text)) return known;
    if (names.size >= PREPARED_STATEMENTS_MAX) return undefined;
    const name =
      values.length > 0 && /^\s*(with|select|insert|update|delete)\b/i.test(text)
        ? `s${createHash('sha1').update(text).digest('base64url')}`
        : undefined;
    names.set(text, name);
    return name;
  };
};

const guardedPool = (pool: pg.Pool, guard: ReturnType<typeof createStorageHealth>) => {
  const wrapped = new WeakMap<pg.PoolClient, unknown>();
  const statementName = createStatementNames();
  return {
    options: pool.options,
    async connect() {
      const client = await pool.connect().catch((error) => {
        throw guard.failed(error, { connecting: true });
      });
      let guarded = wrapped.get(client);
      if (!guarded) {
        guarded = {
          query: (text: string, values: unknown[]) =>
            client
              .query({ text, values, name: statementName(text, values) })
              .then(guard.succeeded, (error) => {
                throw guard.failed(error, { connecting: false });
              }),
          release: (destroy?: boolean) => client.release(destroy),
        };
        wrapped.set(client, guarded);
      }
      return guarded as pg.PoolClient;
    },
    end: () => pool.end(),
  };
};

const connectPostgres = async <Schema extends EventStoreSchema>(
  url: string,
  poolSize: number,
): Promise<Database<Schema>> => {
  // JIT compiling pays off for long analytic queries; here it would put tens of milliseconds of
  // compilation on short statements whose estimates grow large (a disabled plan node, a big owner).
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    options: '-c jit=off',
    connectionTimeoutMillis: 5000,
  });
  // A client that loses its server, idle or checked out, must not crash the process with an
  // unhandled 'error' event: its query in flight, or its next one, reports the loss instead.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const guard = createStorageHealth();
  const listeners = new Map<string, Set<Listener>>();
  let client: Promise<pg.Client> | undefined;
  let closed = false;
  let retryMs = 500;
  // LISTEN needs one connection of its own. When it is lost, listeners fall back on their polling
  // while it is made again, with backoff, and listens to every channel anew.
  const listenClient = (): Promise<pg.Client> => {
    client ??= (async () => {
      const created = new pg.Client({ connectionString: url });
      created.on('notification', (message) => {
        for (const listener of listeners.get(message.channel) ?? [])
          listener(message.payload ?? '');
      });
      created.on('error', () => lost());
      created.on('end', () => lost());
      await created.connect();
      for (const channel of listeners.keys()) await created.query(`LISTEN "${channel}"`);
      retryMs = 500;
      return created;
    })();
    client.catch(() => lost());
    return client;
  };
  let reconnecting: NodeJS.Timeout | undefined;
  const lost = () => {
    client = undefined;
    if (closed || reconnecting || listeners.size === 0) return;
    reconnecting = setTimeout(() => {
      reconnecting = undefined;
      listenClient().catch(() => {});
    }, retryMs);
    retryMs = Math.min(retryMs * 2, 2000);
  };
  return {
    db: new Kysely<Schema>({
      dialect: new PostgresDialect({ pool: guardedPool(pool, guard) }),
    }),
    kind: 'postgres',
    health: guard.health,
    async listen(channel, onNotify) {
      const set = listeners.get(channel) ?? new Set();
      listeners.set(channel, set);
      set.add(onNotify);
      await (await listenClient()).query(`LISTEN "${channel}"`);
      return async () => {
        set.delete(onNotify);
      };
    },
    async close() {
      closed = true;
      clearTimeout(reconnecting);
      await (await client?.catch(() => undefined))?.end().catch(() => {});
      await pool.end();
    },
  };
};

const openPGlite = async <Schema extends EventStoreSchema>(
  dataDir: string,
): Promise<Database<Schema>> => {
  const pglite = new PGlite(dataDir);
  await pglite.waitReady;
  return {
    db: new Kysely<Schema>({ dialect: new PGliteDialect({ pglite }) }),
    kind: 'pglite',
    // In the process itself: there is nothing to lose the connection to.
    health: createStorageHealth().health,
    listen: (channel, onNotify) => pglite.listen(channel, onNotify),
    async close() {
      await pglite.close();
    },
  };
};

export const openDatabase = <Schema extends EventStoreSchema = EventStoreSchema>(
  options: DatabaseOptions,
): Promise<Database<Schema>> =>
  options.url
    ? connectPostgres<Schema>(options.url, options.poolSize ?? 20)
    : openPGlite<Schema>(options.dataDir ?? './.data');
