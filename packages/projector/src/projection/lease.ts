import type { EventStoreSchema } from '@im/eventstore';
import { type Kysely, sql } from 'kysely';

export const PROJECTOR_LEASE = 'projector';

/**
 * Takes or keeps the named lease: it is granted when free, expired, or already ours.
 * Holding it is what makes a process the one active projector.
 */
export const acquireLease = async (
  db: Kysely<EventStoreSchema>,
  options: { name: string; holder: string; ttlMs: number },
): Promise<boolean> => {
  const result = await sql<{ holder: string }>`
    INSERT INTO leases (name, holder, expires_at)
    VALUES (${options.name}, ${options.holder}, now() + make_interval(secs => ${options.ttlMs / 1000}))
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE leases.expires_at < now() OR leases.holder = excluded.holder
    RETURNING holder`.execute(db);
  return result.rows.length === 1;
};

export const releaseLease = async (
  db: Kysely<EventStoreSchema>,
  options: { name: string; holder: string },
) => {
  await sql`DELETE FROM leases WHERE name = ${options.name} AND holder = ${options.holder}`.execute(
    db,
  );
};

export const leaseHolder = async (
  db: Kysely<EventStoreSchema>,
  name: string,
): Promise<{ holder: string; expiresAt: Date } | undefined> => {
  const result = await sql<{ holder: string; expires_at: Date }>`
    SELECT holder, expires_at FROM leases WHERE name = ${name}`.execute(db);
  const row = result.rows[0];
  return row ? { holder: row.holder, expiresAt: row.expires_at } : undefined;
};
