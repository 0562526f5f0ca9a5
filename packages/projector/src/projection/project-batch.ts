import { deriveMember } from '@im/domain';
import {
  type Checkpoint,
  checkpointOf,
  comparePositions,
  horizonColumn,
  type LogPosition,
  storeCheckpoints,
} from '@im/eventstore';
import { sql } from 'kysely';
import type { OutboxBatch } from '../callbacks/callback-pages.ts';
import { changesInsert, outboxEntries } from '../callbacks/outbox.ts';
import { PROJECTED_CHANNEL, projectorCheckpoint, projectorLease } from '../read-model/names.ts';
import type { Db, EngineDatabase } from '../read-model/schema.ts';
import { addToTotals } from '../read-model/totals.ts';
import { applyBatch } from './apply-batch.ts';
import { readLogBatch } from './read-log.ts';
import { LIVE_TABLES } from './rows.ts';
import { createScope } from './scope.ts';

/** The batch found none of its partitions' leases (still) this process's: it was rolled back. */
export class LeaseLost extends Error {}

/** A rebuild changed the database's number of partitions: this process's projector must stop. */
export class LayoutChanged extends Error {
  constructor(readonly partitions: number) {
    super(`the database has ${partitions} partitions now (a rebuild changed them)`);
  }
}

/**
 * Opens a batch's transaction in one statement: settings, the leases of the partitions asked for
 * locked, confirmed ours (a process that lost a lease cannot commit over its successor's) and
 * renewed (a lease in use is renewed by its batches: the process's renewal passes it by and waits
 * for none), their checkpoints, and the log's horizon for the batch's read, which is the next
 * statement. Answers the partitions confirmed, each with its checkpoint.
 */
const beginBatch = async (
  tx: Db,
  holder: string,
  partitions: readonly number[],
  leaseTtlMs: number,
) => {
  // The read model is derived from the durable log: a crash that loses this commit only
  // rewinds the checkpoints with it, and the events are projected again. Not waiting for the
  // WAL flush takes an fsync off every command's path. Sorting is discouraged so that the log
  // is read along its index even before statistics know how large it has grown.
  const result = await sql<{
    partition: number | null;
    layout: number | null;
    tx: string | null;
    global_position: number | null;
    handled: number | null;
    horizon: string;
  }>`
    WITH locked AS (
      -- Locked in name order, as a rebuild's hold takes them: neither waits for the other in turn.
      SELECT p.partition, l.name, l.expires_at FROM leases l
      JOIN unnest(${partitions.map(projectorLease)}::text[], ${[...partitions]}::int[])
        AS p(name, partition) ON p.name = l.name
      WHERE l.holder = ${holder} AND l.expires_at > now()
      ORDER BY l.name FOR UPDATE OF l
    ), renewed AS (
      -- Only leases past half their time: most batches write no lease row (PostgreSQL runs a
      -- data-modifying WITH whether or not the query reads it).
      UPDATE leases SET expires_at = now() + make_interval(secs => ${leaseTtlMs / 1000})
      FROM locked WHERE leases.name = locked.name
        AND locked.expires_at < now() + make_interval(secs => ${leaseTtlMs / 2000})
    ), held AS (SELECT partition FROM locked)
    SELECT set_config('synchronous_commit', 'off', true), set_config('enable_sort', 'off', true),
           held.partition, (SELECT partitions FROM projection_layout) AS layout,
           c.transaction_id::text AS tx, c.global_position, c.handled,
           ${horizonColumn} AS horizon
    FROM (SELECT 1) one
    LEFT JOIN held ON true
    LEFT JOIN checkpoints c ON c.name = 'projector:' || held.partition`.execute(tx);
  const held = new Map<number, Checkpoint>();
  for (const row of result.rows) {
    if (row.partition === null) continue;
    held.set(
      row.partition,
      checkpointOf(
        row.tx === null
          ? undefined
          : {
              tx: row.tx,
              global_position: Number(row.global_position),
              handled: Number(row.handled),
            },
      ),
    );
  }
  return {
    held,
    layout: result.rows[0]?.layout ?? undefined,
    horizon: result.rows[0]?.horizon as string,
  };
};

/** A batch projected: where its partitions stand after it, and its outbox entries, handed over. */
export interface ProjectedBatch {
  /** The partitions it projected, each with its checkpoint after it. */
  checkpoints: ReadonlyMap<number, Checkpoint>;
  events: number;
  /**
   * The batch's outbox entries with the views the projector had in memory: the publisher works
   * their callbacks out without reading the outbox back.
   */
  outbox?: OutboxBatch;
}

export interface BatchOptions {
  holder: string;
  /** The database's number of partitions, and those this batch projects. */
  partitionCount: number;
  partitions: readonly number[];
  batchSize: number;
  /** How long a lease lasts unrenewed: each batch renews those of its partitions. */
  leaseTtlMs?: number;
  /**
   * The last outbox row of this projector's previous batch, when its partitions have not changed
   * since: the publisher takes the handed-over entries as following it.
   */
  outboxAfter: number | undefined;
}

/** The earliest of the checkpoints: where the batch reads the log from, and its count there. */
const earliest = (checkpoints: ReadonlyMap<number, Checkpoint>): Checkpoint =>
  [...checkpoints.values()].reduce((a, b) =>
    comparePositions(b.position, a.position) < 0 ? b : a,
  );

/** The notification of a batch: which partitions got where. */
export const projectedPayload = (partitions: readonly number[], position: LogPosition) =>
  JSON.stringify({ partitions, position });

/**
 * Runs one projection batch over the partitions held, in one transaction: read-model changes,
 * stored totals, outbox and checkpoints together. The log is read once from the partition
 * furthest behind; each event applies to the partitions it is new to. What it reads and writes
 * follows the events' names: a group message's members it does not name cost nothing here.
 */
export const projectBatch = async (
  database: EngineDatabase,
  options: BatchOptions,
): Promise<ProjectedBatch> =>
  database.db.transaction().execute(async (tx) => {
    const { held, layout, horizon } = await beginBatch(
      tx,
      options.holder,
      options.partitions,
      options.leaseTtlMs ?? 5000,
    );
    if (layout !== undefined && layout !== options.partitionCount) throw new LayoutChanged(layout);
    if (held.size === 0) throw new LeaseLost();
    const scope = createScope(
      options.partitionCount,
      new Map([...held].map(([p, checkpoint]) => [p, checkpoint.position])),
    );
    const from = earliest(held);
    const events = await readLogBatch(tx, from.position, { limit: options.batchSize, horizon });
    const last = events.at(-1);
    if (!last) return { checkpoints: held, events: 0 };
    const applied = await applyBatch(tx, LIVE_TABLES, events, from.handled, { scope });
    const next: Checkpoint = { position: last.position, handled: applied.handled };
    const moved = [...scope.after(last.position)].filter(
      ([, position]) => comparePositions(position, last.position) === 0,
    );
    const checkpoints = new Map(held);
    for (const [p] of moved) checkpoints.set(p, next);
    const entries = outboxEntries(applied.changes, applied.fanouts);
    const outbox = await storeCheckpoints<{ first_id: number | null; last_id: number | null }>(
      tx,
      moved.map(([p]) => ({ name: projectorCheckpoint(p), checkpoint: next })),
      {
        notify: {
          channel: PROJECTED_CHANNEL,
          payload: projectedPayload(
            moved.map(([p]) => p),
            next.position,
          ),
        },
        alongWith: { totals: addToTotals(applied.unreadDeltas), outbox: changesInsert(entries) },
        report:
          entries.length > 0
            ? sql`(SELECT min(id) FROM outbox) AS first_id, (SELECT max(id) FROM outbox) AS last_id`
            : undefined,
      },
    );
    if (!outbox?.first_id || !outbox.last_id) return { checkpoints, events: events.length };
    const { states } = applied;
    return {
      checkpoints,
      events: events.length,
      outbox: {
        after: options.outboxAfter ?? -1,
        lastID: outbox.last_id,
        entries,
        viewOf: (owner, conversationID) => {
          const row = states.get(owner, conversationID);
          return row && deriveMember(row, states.group(scope.partitionOf(owner), conversationID));
        },
      },
    };
  });
