import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { EventStoreSchema } from './schema.ts';

// bigint columns (global positions, counters) come back as numbers; they stay below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Listener = (payload: string) => void;

/** A connection to the store: Kysely for queries, plus LISTEN, which pools cannot do. */
export interface Database {
  db: Kysely<EventStoreSchema>;
  kind: 'postgres' | 'pglite';
  listen(channel: string, onNotify: Listener): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL; unset means the embedded PGlite in `dataDir`. */
  url?: string | undefined;
  dataDir?: string;
  poolSize?: number;
}

const connectPostgres = async (url: string, poolSize: number): Promise<Database> => {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const listeners = new Map<string, Set<Listener>>();
  let client: pg.Client | undefined;
  const listenClient = async (): Promise<pg.Client> => {
    if (client) return client;
    const created = new pg.Client({ connectionString: url });
    created.on('notification', (message) => {
      for (const listener of listeners.get(message.channel) ?? []) listener(message.payload ?? '');
    });
    created.on('error', () => {
      // Listeners fall back on their polling until the next listen() reconnects.
      client = undefined;
    });
    await created.connect();
    client = created;
    return created;
  };
  return {
    db: new Kysely<EventStoreSchema>({ dialect: new PostgresDialect({ pool }) }),
    kind: 'postgres',
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
      await client?.end().catch(() => {});
      await pool.end();
    },
  };
};

const openPGlite = async (dataDir: string): Promise<Database> => {
  const pglite = new PGlite(dataDir);
  await pglite.waitReady;
  return {
    db: new Kysely<EventStoreSchema>({ dialect: new PGliteDialect({ pglite }) }),
    kind: 'pglite',
    listen: (channel, onNotify) => pglite.listen(channel, onNotify),
    async close() {
      await pglite.close();
    },
  };
};

export const openDatabase = (options: DatabaseOptions): Promise<Database> =>
  options.url
    ? connectPostgres(options.url, options.poolSize ?? 20)
    : openPGlite(options.dataDir ?? './.data');
