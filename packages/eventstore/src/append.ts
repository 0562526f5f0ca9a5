import { type Kysely, sql, type Transaction } from 'kysely';
import type { LogPosition } from './position.ts';
import type { EventStoreSchema } from './schema.ts';

export const EVENTS_CHANNEL = 'im_events_appended';

export interface NewEvent {
  type: string;
  data: unknown;
  /** Unique within the stream: an append that repeats it fails as a duplicate. */
  idempotencyKey?: string;
}

export type ExpectedVersion = number | 'any';

export interface AppendResult {
  nextVersion: number;
  /** Where the last appended event sits in the read order. */
  lastPosition: LogPosition;
}

export type AppendFailure =
  | { kind: 'conflict'; expected: ExpectedVersion; actual: number }
  | { kind: 'duplicate' };

export type AppendOutcome = { ok: true; value: AppendResult } | { ok: false; error: AppendFailure };

const UNIQUE_VIOLATION = '23505';

const isUniqueViolation = (error: unknown): error is { code: string; constraint?: string } =>
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === UNIQUE_VIOLATION;

/**
 * The stream's version under a row lock held until the transaction ends; 0 for a new stream,
 * whose row is made first so that two first appends queue on it rather than collide.
 */
export const lockStream = async (
  tx: Transaction<EventStoreSchema>,
  streamId: string,
): Promise<number> => {
  await sql`
    INSERT INTO streams (stream_id, version, last_transaction_id, last_global_position)
    VALUES (${streamId}, 0, '0'::xid8, 0) ON CONFLICT (stream_id) DO NOTHING`.execute(tx);
  const row = await sql<{ version: number }>`
    SELECT version FROM streams WHERE stream_id = ${streamId} FOR UPDATE`.execute(tx);
  return row.rows[0]?.version ?? 0;
};

export const streamVersion = async (
  db: Kysely<EventStoreSchema>,
  streamId: string,
): Promise<{ version: number; lastPosition: LogPosition | undefined }> => {
  const row = await db
    .selectFrom('streams')
    .select(['version', sql<string>`last_transaction_id::text`.as('tx'), 'last_global_position'])
    .where('stream_id', '=', streamId)
    .executeTakeFirst();
  return row && row.version > 0
    ? {
        version: row.version,
        lastPosition: { transactionId: row.tx, globalPosition: row.last_global_position },
      }
    : { version: 0, lastPosition: undefined };
};

const insertEvents = async (
  tx: Transaction<EventStoreSchema>,
  streamId: string,
  version: number,
  events: readonly NewEvent[],
): Promise<AppendResult> => {
  const inserted = await tx
    .insertInto('events')
    .values(
      events.map((event, index) => ({
        stream_id: streamId,
        stream_position: version + index + 1,
        type: event.type,
        data: JSON.stringify(event.data),
        idempotency_key: event.idempotencyKey ?? null,
      })),
    )
    .returning(['global_position', sql<string>`transaction_id::text`.as('tx')])
    .execute();
  const last = inserted.reduce((a, b) => (a.global_position > b.global_position ? a : b));
  const nextVersion = version + events.length;
  await sql`
    INSERT INTO streams (stream_id, version, last_transaction_id, last_global_position)
    VALUES (${streamId}, ${nextVersion}, pg_current_xact_id(), ${last.global_position})
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version,
      last_transaction_id = excluded.last_transaction_id,
      last_global_position = excluded.last_global_position`.execute(tx);
  await sql`SELECT pg_notify(${EVENTS_CHANNEL}, '')`.execute(tx);
  return {
    nextVersion,
    lastPosition: { transactionId: last.tx, globalPosition: last.global_position },
  };
};

/**
 * Appends events to a stream inside `tx` when its version is as expected. Two appends that race
 * for one version cannot both succeed: the loser fails as a conflict, never merged.
 */
export const appendInTransaction = async (
  tx: Transaction<EventStoreSchema>,
  streamId: string,
  events: readonly NewEvent[],
  options: { expectedVersion: ExpectedVersion },
): Promise<AppendOutcome> => {
  const actual = await lockStream(tx, streamId);
  const { expectedVersion } = options;
  if (expectedVersion !== 'any' && expectedVersion !== actual) {
    return { ok: false, error: { kind: 'conflict', expected: expectedVersion, actual } };
  }
  return { ok: true, value: await insertEvents(tx, streamId, actual, events) };
};

export const appendToStream = async (
  db: Kysely<EventStoreSchema>,
  streamId: string,
  events: readonly NewEvent[],
  options: { expectedVersion: ExpectedVersion },
): Promise<AppendOutcome> => {
  try {
    return await db.transaction().execute(async (tx) => {
      const outcome = await appendInTransaction(tx, streamId, events, options);
      // Rolls back a failed append so that nothing of it stays.
      if (!outcome.ok) throw new AppendAborted(outcome.error);
      return outcome;
    });
  } catch (error) {
    if (error instanceof AppendAborted) return { ok: false, error: error.failure };
    if (isUniqueViolation(error)) {
      return error.constraint === 'events_idempotency'
        ? { ok: false, error: { kind: 'duplicate' } }
        : { ok: false, error: { kind: 'conflict', expected: options.expectedVersion, actual: -1 } };
    }
    throw error;
  }
};

class AppendAborted extends Error {
  constructor(readonly failure: AppendFailure) {
    super(failure.kind);
  }
}

export { isUniqueViolation };
