import { sql } from 'kysely';
import type { Db } from '../read-model/schema.ts';

/**
 * Takes or keeps the named lease: it is granted when free, expired, or already ours.
 * Holding it is what makes a process the one active projector.
 */
export const acquireLease = async (
  db: Db,
  options: { name: string; holder: string; ttlMs: number },
): Promise<boolean> => {
  const granted = await db
    .insertInto('leases')
    .values({
      name: options.name,
      holder: options.holder,
      expires_at: sql<Date>`now() + make_interval(secs => ${options.ttlMs / 1000})`,
    })
    .onConflict((conflict) =>
      conflict
        .column('name')
        .doUpdateSet((eb) => ({
          holder: eb.ref('excluded.holder'),
          expires_at: eb.ref('excluded.expires_at'),
        }))
        .where((eb) =>
          eb.or([
            eb('leases.expires_at', '<', sql<Date>`now()`),
            eb('leases.holder', '=', eb.ref('excluded.holder')),
          ]),
        ),
    )
    .returning('holder')
    .execute();
  return granted.length === 1;
};

export const releaseLease = async (db: Db, options: { name: string; holder: string }) => {
  await db
    .deleteFrom('leases')
    .where('name', '=', options.name)
    .where('holder', '=', options.holder)
    .execute();
};

export const leaseHolder = async (
  db: Db,
  name: string,
): Promise<{ holder: string; expiresAt: Date } | undefined> => {
  const row = await db
    .selectFrom('leases')
    .select(['holder', 'expires_at'])
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? { holder: row.holder, expiresAt: row.expires_at } : undefined;
};
