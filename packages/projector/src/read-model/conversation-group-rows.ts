import type { ConversationGroupState } from '@im/domain';
import { type RawBuilder, sql } from 'kysely';
import { upsertByColumns } from './columns.ts';

/** An owner's conversation group as a batch leaves it: its row, or `deleted` for none. */
export type ConversationGroupRow = ConversationGroupState & {
  partition: number;
  deleted?: boolean;
};

/** A conversation group's stored columns (`order` is SQL's: the column is `sort_order`). */
const CONVERSATION_GROUP_COLUMNS = [
  ['owner', 'owner', 'text'],
  ['conversationGroupID', 'conversation_group_id', 'text'],
  ['name', 'name', 'text'],
  ['order', 'sort_order', 'integer'],
  ['ex', 'ex', 'text'],
  ['version', 'version', 'bigint'],
  ['partition', 'partition', 'smallint'],
] as const satisfies ReadonlyArray<readonly [keyof ConversationGroupRow, string, string]>;

/** The conversation group columns, in order, for SELECT lists and comparisons. */
export const conversationGroupColumns: RawBuilder<unknown> = sql.raw(
  CONVERSATION_GROUP_COLUMNS.map(([, column]) => column).join(', '),
);

/** An upsert of conversation groups into `table`, one array parameter per column. */
export const upsertConversationGroups = (table: string, rows: readonly ConversationGroupRow[]) =>
  upsertByColumns(table, CONVERSATION_GROUP_COLUMNS, rows, ['owner', 'conversation_group_id']);

/** Deletes the owners' conversation groups named. */
export const deleteConversationGroups = (
  table: string,
  rows: readonly Pick<ConversationGroupRow, 'owner' | 'conversationGroupID'>[],
): RawBuilder<unknown> => sql`
  DELETE FROM ${sql.table(table)} t
  USING unnest(${rows.map((row) => row.owner)}::text[],
               ${rows.map((row) => row.conversationGroupID)}::text[]) AS gone(owner, id)
  WHERE t.owner = gone.owner AND t.conversation_group_id = gone.id`;
