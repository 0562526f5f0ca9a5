import type { Logger } from '@im/domain';
import { sql } from 'kysely';
import { quietWhileAway } from '../quiet-while-away.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';

/** The tables the projector reads and writes by index: the log and the read model. */
const TABLES = ['events', 'conversation_item'];
/** Changes since the last analysis that make a table's statistics stale, beside its size. */
const MIN_CHANGES = 1000;
const GROWTH = 0.2;

/**
 * Analyses each of the projector's tables that changed by a fifth since its statistics were taken
 * (or never had any). Autovacuum does the same, but only once a minute at best: a table that
 * grew from nothing meanwhile is planned as if empty, and a first page of 50 becomes a sort of
 * every row the owner has. Returns the tables analysed.
 */
export const refreshStatistics = async (db: Db): Promise<string[]> => {
  const stale = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c
    JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.oid = ANY(${TABLES}::regclass[])
      AND s.n_mod_since_analyze >= ${MIN_CHANGES}
      AND s.n_mod_since_analyze > ${GROWTH} * greatest(c.reltuples, 0)`.execute(db);
  const names = stale.rows.map((row) => row.name);
  for (const name of names) await sql`ANALYZE ${sql.table(name)}`.execute(db);
  return names;
};

/**
 * A refresh waits this many times as long as the one before took: a table that grows fast (a
 * backlog caught up) is analysed often enough to be planned as it is, yet ANALYZE, whose sample
 * costs the same however large the table, takes a twentieth of one core at most.
 */
const PAUSE_PER_REFRESH_TIME = 20;

/**
 * Refreshes the statistics every `everyMs` while `active()` (the process that writes keeps the
 * statistics of what it reads and writes fresh), never two refreshes at once.
 */
export const keepStatisticsFresh = (options: {
  database: EngineDatabase;
  logger: Logger;
  active(): boolean;
  everyMs: number;
}) => {
  const { database, logger } = options;
  let refreshing = false;
  let notBefore = 0;
  const refresh = async () => {
    const now = performance.now();
    if (refreshing || now < notBefore || !options.active() || database.kind !== 'postgres') return;
    refreshing = true;
    try {
      const analysed = await refreshStatistics(database.db);
      const ms = performance.now() - now;
      if (analysed.length > 0) {
        notBefore = now + ms * (PAUSE_PER_REFRESH_TIME + 1);
        logger.debug('statistics refreshed', { tables: analysed, ms: Math.round(ms) });
      }
    } catch (error) {
      quietWhileAway(logger, 'warn', 'statistics could not be refreshed', error);
    } finally {
      refreshing = false;
    }
  };
  const timer = setInterval(refresh, options.everyMs);
  return { stop: () => clearInterval(timer) };
};
