import { sql } from 'kysely';
import type { Db } from '../read-model/schema.ts';

/**
 * Takes or keeps the named leases: each is granted when free, expired, or already ours. Answers
 * the names granted. Holding a partition's lease is what makes a process its one projector.
 */
export const acquireLeases = async (
  db: Db,
  options: { names: readonly string[]; holder: string; ttlMs: number },
): Promise<string[]> => {
  if (options.names.length === 0) return [];
  const granted = await sql<{ name: string }>`
    INSERT INTO leases AS l (name, holder, expires_at)
    SELECT name, ${options.holder}, now() + make_interval(secs => ${options.ttlMs / 1000})
    FROM unnest(${[...options.names]}::text[]) AS n(name)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE l.expires_at < now() OR l.holder = excluded.holder
    RETURNING name`.execute(db);
  return granted.rows.map((row) => row.name);
};

/**
 * Renews the named leases that are still `holder`'s, passing by those a batch has locked (a batch
 * renews its own); answers the names still `holder`'s, renewed or in use.
 */
export const renewLeases = async (
  db: Db,
  options: { names: readonly string[]; holder: string; ttlMs: number },
): Promise<string[]> => {
  if (options.names.length === 0) return [];
  const result = await sql<{ name: string }>`
    WITH free AS (
      SELECT name FROM leases
      WHERE name = ANY(${[...options.names]}::text[]) AND holder = ${options.holder}
      ORDER BY name FOR UPDATE SKIP LOCKED
    ), renewed AS (
      UPDATE leases SET expires_at = now() + make_interval(secs => ${options.ttlMs / 1000})
      FROM free WHERE leases.name = free.name
    )
    SELECT name FROM leases
    WHERE name = ANY(${[...options.names]}::text[]) AND holder = ${options.holder}`.execute(db);
  return result.rows.map((row) => row.name);
};

/** Takes or keeps one named lease; answers whether it is ours. */
export const acquireLease = async (
  db: Db,
  options: { name: string; holder: string; ttlMs: number },
): Promise<boolean> =>
  (await acquireLeases(db, { names: [options.name], holder: options.holder, ttlMs: options.ttlMs }))
    .length === 1;

export const releaseLeases = async (
  db: Db,
  options: { names: readonly string[]; holder: string },
) => {
  await db
    .deleteFrom('leases')
    .where('name', 'in', [...options.names, ''])
    .where('holder', '=', options.holder)
    .execute();
};

export interface LeaseRow {
  name: string;
  holder: string;
  expiresAt: Date;
  /** Unexpired by the database's clock. */
  live: boolean;
}

/** The leases whose names start with `prefix`, with who holds them. */
export const leaseHolders = async (db: Db, prefix: string): Promise<LeaseRow[]> => {
  // A rebuild's placeholder rows expire at -infinity, which no Date holds.
  const result = await sql<{ name: string; holder: string; expires_at: Date; live: boolean }>`
    SELECT name, holder, greatest(expires_at, 'epoch') AS expires_at, expires_at > now() AS live
    FROM leases WHERE starts_with(name, ${prefix}) ORDER BY name`.execute(db);
  return result.rows.map((row) => ({
    name: row.name,
    holder: row.holder,
    expiresAt: row.expires_at,
    live: row.live,
  }));
};
