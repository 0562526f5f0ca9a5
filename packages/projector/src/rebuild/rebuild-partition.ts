import {
  type Checkpoint,
  comparePositions,
  LOG_START,
  logHead,
  storeCheckpoints,
} from '@im/eventstore';
import { sql } from 'kysely';
import { recordChanges } from '../callbacks/outbox.ts';
import { liveCheckpoints } from '../projection/checkpoints.ts';
import { readLayout } from '../projection/layout.ts';
import { projectedPayload } from '../projection/project-batch.ts';
import { LIVE_TABLES, type ReadModelTables } from '../projection/rows.ts';
import { PROJECTED_CHANNEL, projectorCheckpoint, projectorLease } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { summedTotals } from '../read-model/totals.ts';
import type { RebuildOptions, RebuildResult } from './rebuild.ts';
import type { Replay } from './replay.ts';
import { eventsUpTo, positionsOf, timer, withReplay } from './replay-run.ts';

/** The stored columns of `table` (not the generated), to copy rows between tables whatever their order. */
const columnsOf = async (db: Db, table: string) => {
  const { rows } = await sql<{ column_name: string }>`
    SELECT column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = ${table} AND is_generated = 'NEVER'
    ORDER BY ordinal_position`.execute(db);
  return sql.join(rows.map((row) => sql.id(row.column_name)));
};

/** Replaces the live rows of partition `only` with the rebuilt ones, and its owners' totals. */
const replaceRows = async (tx: Db, rebuilt: ReadModelTables, only: number) => {
  const owners = sql`SELECT owner FROM ${sql.table(LIVE_TABLES.items)} WHERE partition = ${only}`;
  await sql`DELETE FROM owner_unread WHERE owner IN (${owners})`.execute(tx);
  for (const [live, scratch] of [
    [LIVE_TABLES.items, rebuilt.items],
    [LIVE_TABLES.groups, rebuilt.groups],
    [LIVE_TABLES.conversationGroups, rebuilt.conversationGroups],
  ] as const) {
    const columns = await columnsOf(tx, live);
    await sql`DELETE FROM ${sql.table(live)} WHERE partition = ${only}`.execute(tx);
    await sql`INSERT INTO ${sql.table(live)} (${columns})
              SELECT ${columns} FROM ${sql.table(scratch)}`.execute(tx);
  }
  await sql`
    INSERT INTO owner_unread AS t (owner, total)
    SELECT owner, total FROM (${summedTotals}) summed WHERE owner IN (${owners})
    ON CONFLICT (owner) DO UPDATE SET total = excluded.total`.execute(tx);
  // Whole-list caches key on the layout row's version too: rows replaced at equal versions.
  await sql`UPDATE projection_layout SET partitions = partitions`.execute(tx);
};

/** In one transaction: holds the partition's projector, catches up, and puts the rows in place. */
const switchPartition = (
  db: Db,
  replay: Replay,
  rebuilt: ReadModelTables,
  layout: { partitions: number; only: number },
) =>
  db.transaction().execute(async (tx) => {
    await sql`SELECT 1 FROM leases WHERE name = ${projectorLease(layout.only)} FOR UPDATE`.execute(
      tx,
    );
    const live = await liveCheckpoints(tx, layout.partitions);
    const replaced = live.get(layout.only) as Checkpoint;
    replay.projectedUpTo(positionsOf(layout.partitions, live));
    const head = await logHead(tx);
    if (head) await replay.catchUp(tx, head);
    if (comparePositions(replay.position(), replaced.position) < 0)
      throw new Error('the rebuild ended behind the live projector: the log is not readable');
    const changes = replay.changesAfter(positionsOf(layout.partitions, live));
    await recordChanges(tx, changes);
    await replaceRows(tx, rebuilt, layout.only);
    const checkpoint = { position: replay.position(), handled: replay.handled() };
    await storeCheckpoints(tx, [{ name: projectorCheckpoint(layout.only), checkpoint }], {
      notify: {
        channel: PROJECTED_CHANNEL,
        payload: projectedPayload([layout.only], checkpoint.position),
      },
    });
    return { checkpoint, replaced, callbacks: changes.length };
  });

/**
 * Rebuilds one partition's rows from the event log while every partition keeps serving: replays
 * that partition's owners into scratch tables, then, holding only that partition's projector,
 * applies the last events and replaces its rows, group rows and owners' totals in one
 * transaction. The other partitions' projectors go on meanwhile.
 */
export const rebuildPartition = async (
  options: RebuildOptions & { only: number },
): Promise<RebuildResult> => {
  const db = options.database.db;
  const started = performance.now();
  const partitions = (await readLayout(db))?.partitions ?? 1;
  const { only } = options;
  if (!(only >= 0 && only < partitions))
    throw new RangeError(`partition: ${only} is not one of the database's 0–${partitions - 1}`);
  const head = await logHead(db);
  options.progress?.setTotal(await eventsUpTo(db, LOG_START, head ?? LOG_START));
  return withReplay(
    { ...options, partitions, only },
    'partition',
    async (replay, table, counted) => {
      const phase = timer(options.logger);
      replay.projectedUpTo(positionsOf(partitions, await liveCheckpoints(db, partitions)));
      await replay.build(head ?? LOG_START);
      phase('built');
      // What arrived meanwhile is applied before the switch, which holds the partition's projector.
      const now = await logHead(db);
      if (now) {
        replay.projectedUpTo(positionsOf(partitions, await liveCheckpoints(db, partitions)));
        await replay.catchUp(db, now);
      }
      phase('followed the log');
      const switched = await switchPartition(db, replay, table.tables, { partitions, only });
      phase('switched');
      await table.drop();
      options.progress?.finish();
      const seconds = (performance.now() - started) / 1000;
      const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(LIVE_TABLES.items)}
      WHERE partition = ${only}`.execute(db);
      return {
        ...switched,
        partitions,
        events: counted(),
        rows: rows[0]?.n ?? 0,
        seconds,
        eventsPerSecond: Math.round(counted() / seconds),
      };
    },
  );
};
