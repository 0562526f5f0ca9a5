import { allPartitions } from '@im/domain';
import type { Checkpoint, LogPosition } from '@im/eventstore';
import { comparePositions, logHead, readCheckpoints } from '@im/eventstore';
import { sql } from 'kysely';
import { projectorCheckpoint } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { type ProjectionLag, partitionLags } from './lag.ts';
import { readLayout } from './layout.ts';
import { leaseHolders } from './lease.ts';

export interface PartitionStatus {
  id: number;
  position: LogPosition;
  handled: number;
  /** Committed events after its checkpoint. */
  lagEvents: number;
  /** The process that holds its lease, if a live one does. */
  holder: string | undefined;
}

export interface ProjectionStatus {
  /** The last event in the log's read order, and how many events the log holds. */
  head: LogPosition | undefined;
  events: number;
  /** The database's number of partitions. */
  partitions: number;
  /** The checkpoint of the partition furthest behind, and its lag: the projection's. */
  checkpoint: {
    partition: number;
    position: LogPosition;
    handled: number;
    updatedAt: Date | undefined;
  };
  lag: ProjectionLag;
  /** Each live projector process and the partitions it holds. */
  holders: Array<{ holder: string; partitions: number[]; expiresAt: Date }>;
  /** Partitions no live process holds: nobody projects them now. */
  unheld: number[];
  partitionStatus: PartitionStatus[];
}

/** Where the projection stands against the log, partition by partition, and who runs it. */
export const projectionStatus = async (db: Db): Promise<ProjectionStatus> => {
  const partitions = (await readLayout(db))?.partitions ?? 1;
  const head = await logHead(db);
  const ids = allPartitions(partitions);
  const checkpoints = await readCheckpoints(db, ids.map(projectorCheckpoint));
  const checkpointOf = (id: number) => checkpoints.get(projectorCheckpoint(id)) as Checkpoint;
  const behind = ids.reduce((worst, id) =>
    comparePositions(checkpointOf(id).position, checkpointOf(worst).position) < 0 ? id : worst,
  );
  const facts = await sql<{ events: number; updated_at: Date | null }>`
    SELECT (SELECT count(*)::int FROM events) AS events,
           (SELECT updated_at FROM checkpoints WHERE name = ${projectorCheckpoint(behind)}) AS updated_at`.execute(
    db,
  );
  const row = facts.rows[0];
  const live = (await leaseHolders(db, 'projector:')).filter(
    (lease) => lease.holder !== '' && lease.live,
  );
  const holderOf = new Map(live.map((lease) => [lease.name, lease.holder]));
  const holders = new Map<string, { holder: string; partitions: number[]; expiresAt: Date }>();
  for (const lease of live) {
    const entry = holders.get(lease.holder) ?? {
      holder: lease.holder,
      partitions: [],
      expiresAt: lease.expiresAt,
    };
    entry.partitions.push(Number(lease.name.slice('projector:'.length)));
    if (lease.expiresAt < entry.expiresAt) entry.expiresAt = lease.expiresAt;
    holders.set(lease.holder, entry);
  }
  const lags = await partitionLags(
    db,
    ids.map((id) => checkpointOf(id).position),
    { cap: null },
  );
  const worst = lags.lags[ids.indexOf(behind)] ?? { events: 0, seconds: 0 };
  return {
    head,
    events: row?.events ?? 0,
    partitions,
    checkpoint: {
      partition: behind,
      ...checkpointOf(behind),
      updatedAt: row?.updated_at ?? undefined,
    },
    lag: { ...worst, withheld: lags.withheld, heldBackBy: lags.heldBackBy },
    holders: [...holders.values()].map((h) => ({
      ...h,
      partitions: h.partitions.sort((a, b) => a - b),
    })),
    unheld: ids.filter((id) => !holderOf.has(projectorCheckpoint(id))),
    partitionStatus: ids.map((id, i) => ({
      id,
      position: checkpointOf(id).position,
      handled: checkpointOf(id).handled,
      lagEvents: lags.lags[i]?.events ?? 0,
      holder: holderOf.get(projectorCheckpoint(id)),
    })),
  };
};
