import type { LogPosition } from '@im/eventstore';
import { logHead, readCheckpoint } from '@im/eventstore';
import { sql } from 'kysely';
import { PROJECTOR_CHECKPOINT, PROJECTOR_LEASE } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { type ProjectionLag, projectionLag } from './lag.ts';
import { leaseHolder } from './lease.ts';

export interface ProjectionStatus {
  /** The last event in the log's read order, and how many events the log holds. */
  head: LogPosition | undefined;
  events: number;
  checkpoint: { position: LogPosition; handled: number; updatedAt: Date | undefined };
  lag: ProjectionLag;
  /** The process that holds the projector lease, if a live one does. */
  lease: { holder: string; expiresAt: Date; active: boolean } | undefined;
}

/** Where the projector stands against the log, and who runs it: what `status` shows. */
export const projectionStatus = async (db: Db): Promise<ProjectionStatus> => {
  const head = await logHead(db);
  const checkpoint = await readCheckpoint(db, PROJECTOR_CHECKPOINT);
  const facts = await sql<{ events: number; updated_at: Date | null; now: Date }>`
    SELECT (SELECT count(*)::int FROM events) AS events,
           (SELECT updated_at FROM checkpoints WHERE name = ${PROJECTOR_CHECKPOINT}) AS updated_at,
           now() AS now`.execute(db);
  const row = facts.rows[0];
  const lease = await leaseHolder(db, PROJECTOR_LEASE);
  return {
    head,
    events: row?.events ?? 0,
    checkpoint: { ...checkpoint, updatedAt: row?.updated_at ?? undefined },
    lag: await projectionLag(db, checkpoint.position),
    lease: lease && {
      ...lease,
      active: lease.holder !== '' && lease.expiresAt.getTime() > (row?.now ?? new Date()).getTime(),
    },
  };
};
