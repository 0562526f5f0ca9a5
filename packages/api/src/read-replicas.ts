import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@im/domain';
import { openDatabase } from '@im/eventstore';
import type { EngineDatabase, EngineSchema } from '@im/projector';
import { type Kysely, sql } from 'kysely';

/** Where a query reads: a hot standby that has the owner's last write, or the primary. */
export interface ReadRoute {
  /** The database to answer a query of `owner` from. */
  forOwner(owner: string): Promise<Kysely<EngineSchema>>;
  /**
   * Called once a command of these owners has its effect projected, before it answers: their
   * queries from now on read a replica only once it has replayed this far.
   */
  wrote(owners: readonly string[]): Promise<void>;
  /** Another process's `wrote`, heard over NATS: the owners and the primary's WAL position. */
  heard(owners: readonly string[], lsn: number): void;
  stats(): { replicas: ReplicaStats[] } | undefined;
  close(): Promise<void>;
}

export interface ReplicaStats {
  url: string;
  up: boolean;
  /** Bytes of WAL the replica has still to replay, as of its last look. */
  behindBytes: number;
  queries: number;
}

export interface ReadRouteOptions {
  primary: EngineDatabase;
  /** Hot standbys of the primary; none keeps every query on the primary. */
  replicaUrls: readonly string[];
  /** How long a query waits for a replica to replay the owner's write before it reads the primary. */
  waitMs: number;
  poolSize: number;
  logger: Logger;
  /** Tells the other engine processes of a write (they may answer the next query). */
  announce?: (owners: readonly string[], lsn: number) => void;
}

/** Owners remembered at most: past it the oldest are forgotten (their writes are long replayed). */
const REMEMBERED_OWNERS = 100_000;
/** A replica whose position could not be read is left alone this long. */
const DOWN_FOR_MS = 1000;
const POLL_MS = 5;

/** Runs `load` once for all who ask while it runs, and once more for those who ask meanwhile. */
const coalesced = <T>(load: () => Promise<T>) => {
  let running: Promise<T> | undefined;
  let next: Promise<T> | undefined;
  return (): Promise<T> => {
    if (!running) {
      running = load().finally(() => {
        running = undefined;
      });
      return running;
    }
    next ??= running
      .catch(() => {})
      .then(() => {
        next = undefined;
        return load();
      });
    return next;
  };
};

/**
 * The primary's WAL insert position (projection batches commit asynchronously: their commit
 * record may be inserted but not yet written), or how far a standby has replayed.
 */
const lsnOf = (db: Kysely<EngineSchema>, position: 'primary' | 'replayed') =>
  (position === 'primary'
    ? sql<{ lsn: number }>`SELECT (pg_current_wal_insert_lsn() - '0/0')::int8 AS lsn`
    : sql<{ lsn: number | null }>`SELECT (pg_last_wal_replay_lsn() - '0/0')::int8 AS lsn`
  )
    .execute(db)
    .then(({ rows }) => Number(rows[0]?.lsn ?? 0));

interface Replica {
  url: string;
  database: EngineDatabase;
  replayed: number;
  downUntil: number;
  queries: number;
  refresh(): Promise<number>;
}

/** A replica's pool, and how far it has replayed as its last look found. */
const openReplica = async (url: string, poolSize: number, logger: Logger): Promise<Replica> => {
  const database = await openDatabase<EngineSchema>({ url, poolSize });
  const replica: Replica = {
    url: new URL(url).host,
    database,
    replayed: 0,
    downUntil: 0,
    queries: 0,
    refresh: coalesced(async () => {
      try {
        replica.replayed = await lsnOf(database.db, 'replayed');
      } catch (error) {
        if (replica.downUntil < Date.now())
          logger.warn('read replica unavailable; reading elsewhere', {
            replica: replica.url,
            error,
          });
        replica.downUntil = Date.now() + DOWN_FOR_MS;
      }
      return replica.replayed;
    }),
  };
  return replica;
};

/** Every query on the primary. */
const primaryOnly = (primary: EngineDatabase): ReadRoute => ({
  forOwner: async () => primary.db,
  wrote: async () => {},
  heard: () => {},
  stats: () => undefined,
  close: async () => {},
});

/**
 * Serves queries from hot standbys (DATABASE_READ_URL) while keeping read-your-writes: a query
 * of an owner whose command this engine (or one that told it) answered reads a replica only once
 * that replica has replayed the primary's WAL past the command's projection, and the primary
 * after `waitMs`. Owners with no recent write read any replica that is up, in turn.
 */
export const createReadRoute = async (options: ReadRouteOptions): Promise<ReadRoute> => {
  if (options.replicaUrls.length === 0) return primaryOnly(options.primary);
  const written = new Map<string, number>();
  const primaryLsn = coalesced(() => lsnOf(options.primary.db, 'primary'));
  const replicas = await Promise.all(
    options.replicaUrls.map((url) => openReplica(url, options.poolSize, options.logger)),
  );
  let turn = 0;
  let latestWrite = 0;
  // Keeps each replica's position (and whether it is up) fresh for the stats and for queries.
  const refresher = setInterval(() => {
    for (const replica of replicas) void replica.refresh();
  }, DOWN_FOR_MS);
  refresher.unref();
  const up = () => replicas.filter((replica) => replica.downUntil <= Date.now());
  const remember = (owners: readonly string[], lsn: number) => {
    latestWrite = Math.max(latestWrite, lsn);
    for (const owner of owners) {
      written.delete(owner);
      written.set(owner, Math.max(lsn, written.get(owner) ?? 0));
    }
    for (const oldest of written.keys()) {
      if (written.size <= REMEMBERED_OWNERS) break;
      written.delete(oldest);
    }
  };
  const use = (replica: Replica) => {
    replica.queries += 1;
    return replica.database.db;
  };

  return {
    async forOwner(owner) {
      const need = written.get(owner);
      const deadline = Date.now() + options.waitMs;
      for (;;) {
        const candidates = up();
        if (candidates.length === 0) return options.primary.db;
        turn = (turn + 1) % candidates.length;
        const ordered = [...candidates.slice(turn), ...candidates.slice(0, turn)];
        if (need === undefined) return use(ordered[0] as Replica);
        const ready = ordered.find((replica) => replica.replayed >= need);
        if (ready) {
          // Every replica has it: the owner needs no more care.
          if (replicas.every((replica) => replica.replayed >= need)) written.delete(owner);
          return use(ready);
        }
        if (Date.now() >= deadline) return options.primary.db;
        await Promise.all(candidates.map((replica) => replica.refresh()));
        if (!candidates.some((replica) => replica.replayed >= need)) await sleep(POLL_MS);
      }
    },
    async wrote(owners) {
      const lsn = await primaryLsn();
      remember(owners, lsn);
      options.announce?.(owners, lsn);
    },
    heard: remember,
    stats: () => ({
      replicas: replicas.map((replica) => ({
        url: replica.url,
        up: replica.downUntil <= Date.now(),
        behindBytes: Math.max(0, latestWrite - replica.replayed),
        queries: replica.queries,
      })),
    }),
    async close() {
      clearInterval(refresher);
      await Promise.all(replicas.map((replica) => replica.database.close()));
    },
  };
};
