import { type RawBuilder, sql } from 'kysely';
import { COUNTED_UNREAD_SQL, derivedContribution, groupJoin } from './columns.ts';
import type { Db } from './schema.ts';

/**
 * Every owner's stored total, summed over their rows: SPEC §2's total less live group members,
 * whose unread follows their group's row and is added when a total is read (ownerTotals). What
 * the stored totals must equal: for migrating, rebuilding and verifying.
 */
export const summedTotals = sql`
  SELECT owner, sum(${sql.raw(COUNTED_UNREAD_SQL)})::bigint AS total FROM conversation_item
  WHERE NOT is_hidden AND recv_msg_opt = 0 AND (conversation_type <> 3 OR is_not_in_group)
  GROUP BY owner`;

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

/**
 * Owners whose stored total is not the sum over their rows (an absent total counts as 0); with
 * `partition`, of the owners with rows in that partition.
 */
export const driftedTotals = async (db: Db, partition?: number): Promise<number> => {
  const inScope =
    partition === undefined
      ? sql`true`
      : sql`owner IN (SELECT owner FROM conversation_item WHERE partition = ${partition})`;
  const result = await sql<{ drifted: number }>`
    SELECT count(*)::int AS drifted
    FROM owner_unread stored FULL JOIN (${summedTotals}) summed USING (owner)
    WHERE coalesce(stored.total, 0) <> coalesce(summed.total, 0) AND ${inScope}`.execute(db);
  return result.rows[0]?.drifted ?? 0;
};

/**
 * Each owner's total (SPEC §2): the stored part, and the unread of every group they are in, from
 * the group's row. One statement for any number of owners; owners with nothing have 0.
 */
export const ownerTotals = async (
  db: Db,
  owners: readonly string[],
): Promise<Map<string, number>> => {
  if (owners.length === 0) return new Map();
  const result = await sql<{ owner: string; total: number }>`
    SELECT o.owner, coalesce(stored.total, 0) + coalesce((
             SELECT sum(${derivedContribution}) FROM conversation_item m ${groupJoin()}
             WHERE m.owner = o.owner AND m.conversation_type = 3 AND NOT m.is_not_in_group
           ), 0)::bigint AS total
    FROM unnest(${[...new Set(owners)]}::text[]) AS o(owner)
    LEFT JOIN owner_unread stored ON stored.owner = o.owner`.execute(db);
  return new Map(result.rows.map((row) => [row.owner, Number(row.total)]));
};
