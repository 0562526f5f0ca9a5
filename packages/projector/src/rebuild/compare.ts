import { type RawBuilder, sql } from 'kysely';
import type { ReadModelTables } from '../projection/rows.ts';
import { fromRow, GROUP_COLUMNS, selectColumns, stateColumns } from '../read-model/columns.ts';
import { conversationGroupColumns } from '../read-model/conversation-group-rows.ts';
import type { Db } from '../read-model/schema.ts';
import { driftedTotals } from '../read-model/totals.ts';

export interface DifferingRow {
  owner: string;
  conversationID: string;
  /** `missing`: only the rebuild has it; `extra`: only the live table has it. */
  kind: 'differs' | 'missing' | 'extra';
  /** For `differs`: the fields whose values differ. */
  fields: string[];
}

export interface Comparison {
  equal: boolean;
  liveRows: number;
  rebuiltRows: number;
  /** Rows of the live table that the rebuild does not have exactly. */
  onlyInLive: number;
  /** Rows of the rebuild that the live table does not have exactly. */
  onlyInRebuild: number;
  /** The first few differing rows, by key. */
  sample: DifferingRow[];
  /** Owners whose stored total unread is not the sum over their live rows. */
  driftedTotals: number;
  /** Group rows not the same in both (counted each way). */
  differingGroups: number;
  /** Owners' conversation groups not the same in both (counted each way). */
  differingConversationGroups: number;
}

const rowOf = async (db: Db, table: string, owner: string, id: string) => {
  const result = await sql<Record<string, unknown>>`
    SELECT ${stateColumns} FROM ${sql.table(table)}
    WHERE owner = ${owner} AND conversation_id = ${id}`.execute(db);
  const row = result.rows[0];
  return row ? (fromRow(row) as unknown as Record<string, unknown>) : undefined;
};

const GROUP_ROW_COLUMNS = sql.raw(
  `partition, ${GROUP_COLUMNS.map(([, column]) => column).join(', ')}`,
);

/** Rows that differ between two tables of the same kind on `columns`, counted both ways. */
const differingRows = async (
  db: Db,
  live: string,
  rebuilt: string,
  columns: RawBuilder<unknown>,
  inScope: ReturnType<typeof partitionFilter>,
): Promise<number> => {
  const result = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM (
      (SELECT ${columns} FROM ${sql.table(live)} WHERE ${inScope}
       EXCEPT SELECT ${columns} FROM ${sql.table(rebuilt)})
      UNION ALL
      (SELECT ${columns} FROM ${sql.table(rebuilt)} EXCEPT SELECT ${columns} FROM ${sql.table(live)} WHERE ${inScope})
    ) differing`.execute(db);
  return result.rows[0]?.n ?? 0;
};

/** The live rows a comparison covers: every one, or one partition's. */
const partitionFilter = (only: number | undefined) =>
  only === undefined ? sql`true` : sql`partition = ${only}`;

/**
 * Compares two read models, in `db`'s snapshot: the conversation tables on every stored column,
 * both ways (EXCEPT), the group tables likewise, and the stored totals unread with the sums over
 * the live table.
 */
export const compareTables = async (
  db: Db,
  liveTables: ReadModelTables,
  rebuiltTables: ReadModelTables,
  options: { sample?: number; only?: number } = {},
): Promise<Comparison> => {
  const inScope = partitionFilter(options.only);
  const live = liveTables.items;
  const rebuilt = rebuiltTables.items;
  const result = await sql<{
    live_rows: number;
    rebuilt_rows: number;
    only_live: number;
    only_rebuilt: number;
    sample: Array<{ owner: string; conversation_id: string; live: boolean; rebuilt: boolean }>;
  }>`
    WITH only_live AS (
      SELECT ${selectColumns}, partition FROM ${sql.table(live)} WHERE ${inScope}
      EXCEPT SELECT ${selectColumns}, partition FROM ${sql.table(rebuilt)}
    ), only_rebuilt AS (
      SELECT ${selectColumns}, partition FROM ${sql.table(rebuilt)}
      EXCEPT SELECT ${selectColumns}, partition FROM ${sql.table(live)} WHERE ${inScope}
    ), keys AS (
      SELECT owner, conversation_id, bool_or(side = 'live') AS live, bool_or(side = 'rebuilt') AS rebuilt
      FROM (SELECT owner, conversation_id, 'live' AS side FROM only_live
            UNION ALL SELECT owner, conversation_id, 'rebuilt' FROM only_rebuilt) sides
      GROUP BY owner, conversation_id ORDER BY owner, conversation_id LIMIT ${options.sample ?? 5}
    )
    SELECT (SELECT count(*)::int FROM ${sql.table(live)} WHERE ${inScope}) AS live_rows,
           (SELECT count(*)::int FROM ${sql.table(rebuilt)}) AS rebuilt_rows,
           (SELECT count(*)::int FROM only_live) AS only_live,
           (SELECT count(*)::int FROM only_rebuilt) AS only_rebuilt,
           (SELECT coalesce(json_agg(keys), '[]') FROM keys) AS sample`.execute(db);
  const figures = result.rows[0];
  if (!figures) throw new Error('comparison returned no row');
  const sample: DifferingRow[] = [];
  for (const key of figures.sample) {
    const kind = key.live && key.rebuilt ? 'differs' : key.live ? 'extra' : 'missing';
    let fields: string[] = [];
    if (kind === 'differs') {
      const a = await rowOf(db, live, key.owner, key.conversation_id);
      const b = await rowOf(db, rebuilt, key.owner, key.conversation_id);
      fields = Object.keys(a ?? {}).filter(
        (field) => JSON.stringify(a?.[field]) !== JSON.stringify(b?.[field]),
      );
    }
    sample.push({ owner: key.owner, conversationID: key.conversation_id, kind, fields });
  }
  const drifted = await driftedTotals(db, options.only);
  const groups = await differingRows(
    db,
    liveTables.groups,
    rebuiltTables.groups,
    GROUP_ROW_COLUMNS,
    inScope,
  );
  const conversationGroups = await differingRows(
    db,
    liveTables.conversationGroups,
    rebuiltTables.conversationGroups,
    conversationGroupColumns,
    inScope,
  );
  return {
    equal:
      figures.only_live === 0 &&
      figures.only_rebuilt === 0 &&
      drifted === 0 &&
      groups === 0 &&
      conversationGroups === 0,
    differingGroups: groups,
    differingConversationGroups: conversationGroups,
    liveRows: figures.live_rows,
    rebuiltRows: figures.rebuilt_rows,
    onlyInLive: figures.only_live,
    onlyInRebuild: figures.only_rebuilt,
    sample,
    driftedTotals: drifted,
  };
};
