import type { ConversationGroupItem } from '@im/domain';
import { sql } from 'kysely';
import { derivedContribution, derivedHidden, derivedVersion, groupJoin } from './columns.ts';
import type { Db } from './schema.ts';

// An owner's conversation groups with their counts (SPEC §8.1 rule 17), worked out when read over
// the owner's rows that are in a group: a group message changes a member's unread without
// writing their row, so a stored count would have to be written per member.

type ItemRow = Omit<ConversationGroupItem, 'version'> & { owner: string; version: string };

const toItem = ({ owner: _owner, version, ...row }: ItemRow): ConversationGroupItem => ({
  ...row,
  version: Number(version),
});

/** The groups `where` selects of `cg` (`g` is a group conversation's row), each with its counts and the later of its and its members' version. */
const groupItems = (where: ReturnType<typeof sql>) => sql<ItemRow>`
  SELECT cg.owner, cg.conversation_group_id AS "conversationGroupID", cg.name,
         cg.sort_order AS "order", cg.ex, coalesce(c.listed, 0) AS "conversationCount",
         coalesce(c.unread, 0) AS "unreadCount",
         greatest(cg.version, coalesce(c.version, 0))::text AS version
  FROM conversation_group cg
  LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE NOT ${derivedHidden})::int AS listed,
           sum(${derivedContribution})::int AS unread, max(${derivedVersion}) AS version
    FROM conversation_item m ${groupJoin()}
    WHERE m.owner = cg.owner AND cardinality(m.conversation_group_ids) > 0
      AND cg.conversation_group_id = ANY(m.conversation_group_ids)
  ) c ON true
  WHERE ${where}`;

/** The owner's conversation groups, by `order` then ID. */
export const conversationGroupsOf = async (
  db: Db,
  owner: string,
): Promise<ConversationGroupItem[]> => {
  const result = await sql<ItemRow>`
    SELECT * FROM (${groupItems(sql`cg.owner = ${owner}`)}) items
    ORDER BY "order", "conversationGroupID"`.execute(db);
  return result.rows.map(toItem);
};

/** The groups at the keys, by `${owner}\u0000${conversationGroupID}`; keys without a group have none. */
export const conversationGroupsAt = async (
  db: Db,
  keys: ReadonlyArray<{ owner: string; conversationGroupID: string }>,
): Promise<Map<string, ConversationGroupItem>> => {
  if (keys.length === 0) return new Map();
  const result = await groupItems(
    sql`(cg.owner, cg.conversation_group_id) IN (
      SELECT * FROM unnest(${keys.map((k) => k.owner)}::text[],
                           ${keys.map((k) => k.conversationGroupID)}::text[]))`,
  ).execute(db);
  return new Map(
    result.rows.map((row) => [`${row.owner}\u0000${row.conversationGroupID}`, toItem(row)]),
  );
};

/** The owner's conversation groups' fields, for deciding a command on them. */
export const conversationGroupFieldsOf = async (db: Db, owner: string) => {
  const result = await sql<{ id: string; name: string; order: number; ex: string }>`
    SELECT conversation_group_id AS id, name, sort_order AS "order", ex
    FROM conversation_group WHERE owner = ${owner}`.execute(db);
  return new Map(result.rows.map(({ id, ...fields }) => [id, fields]));
};
