import { sql } from 'kysely';
import type { LogPosition } from './position.ts';
import type { Queryable } from './schema.ts';

export interface NewEvent {
  type: string;
  data: unknown;
  /** The shape it is written in; 1 when not given. */
  schemaVersion?: number;
  /** Unique within the stream: an append that repeats it fails as a duplicate. */
  idempotencyKey?: string;
  /** What came with the command beside the data, kept with the event (its cause, a traceparent). */
  metadata?: Record<string, unknown>;
}

/** The metadata column's value of each event: JSON text, or null for none. */
export const metadataOf = (event: NewEvent): string | null =>
  event.metadata ? JSON.stringify(event.metadata) : null;

export type ExpectedVersion = number | 'any';

export interface AppendResult {
  nextVersion: number;
  /** Where the last appended event sits in the read order. */
  lastPosition: LogPosition;
}

export type AppendFailure = { kind: 'conflict'; expected: ExpectedVersion } | { kind: 'duplicate' };

export type AppendOutcome = { ok: true; value: AppendResult } | { ok: false; error: AppendFailure };

const UNIQUE_VIOLATION = '23505';

/**
 * The stream's version under a row lock held until the transaction ends; 0 for a new stream,
 * whose row is made first so that two first appends queue on it rather than collide.
 */
export const lockStream = async (tx: Queryable, streamId: string): Promise<number> => {
  const result = await sql<{ version: number }>`
    INSERT INTO streams AS s (stream_id, version) VALUES (${streamId}, 0)
    ON CONFLICT (stream_id) DO UPDATE SET version = s.version
    RETURNING version`.execute(tx);
  return result.rows[0]?.version ?? 0;
};

export interface StreamState {
  version: number;
  /** The stream's last event in read order: what a reader must pass to have seen the stream. */
  lastPosition: LogPosition | undefined;
  /** The position in the stream of the event carrying the asked idempotency key, if any. */
  duplicateOf: number | undefined;
}

export interface StreamQuery {
  streamId: string;
  /** Asks whether an event of the stream carries this idempotency key. */
  idempotencyKey?: string | undefined;
}

/** Streams' versions and last events, without locking, in one query; in the order asked. */
export const streamVersions = async (
  db: Queryable,
  queries: readonly StreamQuery[],
): Promise<StreamState[]> => {
  const result = await sql<{
    version: number | null;
    tx: string | null;
    pos: number | null;
    duplicate: number | null;
  }>`
    SELECT s.version, last.tx, last.pos, duplicate.stream_position AS duplicate
    FROM unnest(${queries.map((q) => q.streamId)}::text[], ${queries.map((q) => q.idempotencyKey ?? null)}::text[])
         WITH ORDINALITY AS wanted(stream_id, key, ordinal)
    LEFT JOIN streams s ON s.stream_id = wanted.stream_id
    LEFT JOIN LATERAL (
      SELECT transaction_id::text AS tx, global_position AS pos FROM events
      WHERE stream_id = wanted.stream_id ORDER BY stream_position DESC LIMIT 1
    ) last ON true
    LEFT JOIN LATERAL (
      SELECT stream_position FROM events
      WHERE stream_id = wanted.stream_id AND idempotency_key = wanted.key
    ) duplicate ON true
    ORDER BY wanted.ordinal`.execute(db);
  return result.rows.map((row) => ({
    version: row.version ?? 0,
    lastPosition: row.tx ? { transactionId: row.tx, globalPosition: row.pos ?? 0 } : undefined,
    duplicateOf: row.duplicate ?? undefined,
  }));
};

/** A stream's version and last event, without locking; with a key, whether an event carries it. */
export const streamVersion = async (
  db: Queryable,
  streamId: string,
  options: { idempotencyKey?: string } = {},
): Promise<StreamState> =>
  (
    await streamVersions(db, [{ streamId, idempotencyKey: options.idempotencyKey }])
  )[0] as StreamState;

/** What an append statement answers per stream: where it got, or that it was a duplicate. */
export interface AppendedRow {
  next_version: number | null;
  tx: string | null;
  pos: number | null;
  duplicate: boolean;
}

/**
 * Appends events to a stream when its version is as expected, in one statement: the stream row's
 * upsert takes its lock and moves its version only when the expectation holds, and the events
 * are inserted behind it. Two appends that race for one version cannot both succeed: the loser
 * is answered a conflict, never merged. An event whose idempotency key the stream holds already
 * makes the append a duplicate, found before anything is written: a retried message leaves no
 * error in PostgreSQL's log.
 */
export const appendToStream = async (
  db: Queryable,
  streamId: string,
  events: readonly NewEvent[],
  options: { expectedVersion: ExpectedVersion },
): Promise<AppendOutcome> => {
  const expected = options.expectedVersion === 'any' ? null : options.expectedVersion;
  const count = events.length;
  const keys = events.flatMap((e) => (e.idempotencyKey ? [e.idempotencyKey] : []));
  try {
    const result = await sql<AppendedRow>`
      WITH known AS (
        SELECT 1 FROM events WHERE stream_id = ${streamId} AND idempotency_key = ANY(${keys}::text[])
        LIMIT 1
      ), stream AS (
        INSERT INTO streams AS s (stream_id, version)
        -- A new stream is made only when nothing else is expected of it.
        SELECT ${streamId}, ${count}::bigint
        WHERE (coalesce(${expected}::bigint, 0) = 0 OR EXISTS (SELECT 1 FROM streams WHERE stream_id = ${streamId}))
          AND NOT EXISTS (SELECT 1 FROM known)
        ON CONFLICT (stream_id) DO UPDATE SET version = s.version + ${count}::bigint
          WHERE ${expected}::bigint IS NULL OR s.version = ${expected}::bigint
        RETURNING version
      ), appended AS (
        INSERT INTO events (stream_id, stream_position, type, data, idempotency_key, schema_version,
                            metadata)
        SELECT ${streamId}, stream.version - ${count}::bigint + e.ordinality, e.type, e.data, e.key, e.shape,
               e.metadata
        FROM stream, unnest(${events.map((e) => e.type)}::text[], ${events.map((e) => JSON.stringify(e.data))}::json[],
                            ${events.map((e) => e.idempotencyKey ?? null)}::text[],
                            ${events.map((e) => e.schemaVersion ?? 1)}::smallint[],
                            ${events.map(metadataOf)}::json[])
             WITH ORDINALITY AS e(type, data, key, shape, metadata)
        RETURNING global_position, transaction_id
      )
      SELECT (SELECT version FROM stream) AS next_version,
             (SELECT transaction_id::text FROM appended LIMIT 1) AS tx,
             (SELECT max(global_position) FROM appended) AS pos,
             EXISTS (SELECT 1 FROM known) AS duplicate`.execute(db);
    const row = result.rows[0];
    if (row?.duplicate) return { ok: false, error: { kind: 'duplicate' } };
    if (row?.next_version == null || row.tx === null) {
      return { ok: false, error: { kind: 'conflict', expected: options.expectedVersion } };
    }
    return {
      ok: true,
      value: {
        nextVersion: row.next_version,
        lastPosition: { transactionId: row.tx, globalPosition: row.pos ?? 0 },
      },
    };
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
    const constraint = (error as { constraint?: string }).constraint;
    return constraint === 'events_idempotency'
      ? { ok: false, error: { kind: 'duplicate' } }
      : { ok: false, error: { kind: 'conflict', expected: options.expectedVersion } };
  }
};

/** The same append inside a caller's transaction, e.g. one that holds other streams' locks. */
export const appendInTransaction = appendToStream;
