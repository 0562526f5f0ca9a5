import { type RawBuilder, sql } from 'kysely';
import { UNREAD_SQL } from './columns.ts';
import type { Db } from './schema.ts';

/**
 * Every owner's total (SPEC §2 "Total unread"), summed over their rows: what the stored totals
 * must equal. For migrating, rebuilding and verifying; answers read the stored ones.
 */
export const summedTotals = sql`
  SELECT owner, sum(${sql.raw(UNREAD_SQL)})::bigint AS total FROM conversation_item
  WHERE NOT is_hidden AND recv_msg_opt = 0 GROUP BY owner`;

/**
 * The write that moves the owners' stored totals by a batch's deltas, in the batch's transaction,
 * so that a total is read, not summed over every conversation the owner has; none for no deltas.
 */
export const addToTotals = (
  deltas: ReadonlyMap<string, number>,
): RawBuilder<unknown> | undefined =>
  deltas.size === 0
    ? undefined
    : sql`
    INSERT INTO owner_unread AS t (owner, total)
    SELECT * FROM unnest(${[...deltas.keys()]}::text[], ${[...deltas.values()]}::bigint[])
    ON CONFLICT (owner) DO UPDATE SET total = t.total + excluded.total`;

/** Sums every total anew from the live table: after a rebuild switched a new one in. */
export const recountTotals = async (db: Db): Promise<void> => {
  await sql`DELETE FROM owner_unread`.execute(db);
  await sql`INSERT INTO owner_unread (owner, total) ${summedTotals}`.execute(db);
};

/** Owners whose stored total is not the sum over their rows (an absent total counts as 0). */
export const driftedTotals = async (db: Db): Promise<number> => {
  const result = await sql<{ drifted: number }>`
    SELECT count(*)::int AS drifted
    FROM owner_unread stored FULL JOIN (${summedTotals}) summed USING (owner)
    WHERE coalesce(stored.total, 0) <> coalesce(summed.total, 0)`.execute(db);
  return result.rows[0]?.drifted ?? 0;
};
