import { sql } from 'kysely';
import { type AppendedRow, type AppendOutcome, metadataOf, type NewEvent } from './append.ts';
import type { Queryable } from './schema.ts';

export interface StreamAppend {
  streamId: string;
  events: readonly NewEvent[];
  /** The version the stream must be at: 0 for a stream with no events yet. */
  expectedVersion: number;
}

/**
 * Appends to several different streams in one statement and one transaction, each only when its
 * stream is at the expected version: the others' appends go ahead when one conflicts. A stream at
 * 0 is made or taken over by an upsert; one further on moves by an UPDATE that re-checks its
 * version under the row lock. Each stream's events take global positions in stream order. An
 * append whose idempotency key its stream holds already is answered a duplicate, and appends
 * nothing. Streams must not repeat within one call.
 */
export const appendToStreams = async (
  db: Queryable,
  appends: readonly StreamAppend[],
): Promise<AppendOutcome[]> => {
  const events = appends.flatMap((append) =>
    append.events.map((event, index) => ({
      streamId: append.streamId,
      position: index + 1,
      event,
    })),
  );
  const keyed = events.filter((e) => e.event.idempotencyKey);
  const result = await sql<AppendedRow & { stream_id: string }>`
    WITH known AS (
      SELECT DISTINCT k.stream_id FROM unnest(${keyed.map((e) => e.streamId)}::text[],
                                              ${keyed.map((e) => e.event.idempotencyKey)}::text[]) AS k(stream_id, key)
      JOIN events ev ON ev.stream_id = k.stream_id AND ev.idempotency_key = k.key
    ), wanted AS (
      SELECT * FROM unnest(${appends.map((a) => a.streamId)}::text[],
                           ${appends.map((a) => a.expectedVersion)}::bigint[],
                           ${appends.map((a) => a.events.length)}::bigint[]) AS w(stream_id, expected, count)
      WHERE w.stream_id NOT IN (SELECT stream_id FROM known)
    ), started AS (
      INSERT INTO streams AS s (stream_id, version)
      SELECT stream_id, count FROM wanted WHERE expected = 0
      ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version WHERE s.version = 0
      RETURNING stream_id, version
    ), moved AS (
      UPDATE streams s SET version = s.version + wanted.count FROM wanted
      WHERE wanted.expected > 0 AND s.stream_id = wanted.stream_id AND s.version = wanted.expected
      RETURNING s.stream_id, s.version
    ), accepted AS (
      SELECT stream_id, version FROM started UNION ALL SELECT stream_id, version FROM moved
    ), appended AS (
      INSERT INTO events (stream_id, stream_position, type, data, idempotency_key, schema_version,
                          metadata)
      SELECT e.stream_id, accepted.version - wanted.count + e.position, e.type, e.data, e.key, e.shape,
             e.metadata
      FROM unnest(${events.map((e) => e.streamId)}::text[], ${events.map((e) => e.position)}::bigint[],
                  ${events.map((e) => e.event.type)}::text[],
                  ${events.map((e) => JSON.stringify(e.event.data))}::json[],
                  ${events.map((e) => e.event.idempotencyKey ?? null)}::text[],
                  ${events.map((e) => e.event.schemaVersion ?? 1)}::smallint[],
                  ${events.map((e) => metadataOf(e.event))}::json[])
             WITH ORDINALITY AS e(stream_id, position, type, data, key, shape, metadata, ordinal)
      JOIN accepted USING (stream_id) JOIN wanted USING (stream_id)
      ORDER BY e.ordinal
      RETURNING stream_id, global_position, transaction_id
    )
    SELECT accepted.stream_id, accepted.version AS next_version,
           max(appended.global_position) AS pos, min(appended.transaction_id::text) AS tx,
           false AS duplicate
    FROM accepted JOIN appended USING (stream_id)
    GROUP BY accepted.stream_id, accepted.version
    UNION ALL
    SELECT stream_id, NULL, NULL, NULL, true FROM known`.execute(db);
  const byStream = new Map(result.rows.map((row) => [row.stream_id, row]));
  return appends.map((append): AppendOutcome => {
    const row = byStream.get(append.streamId);
    if (row?.duplicate) return { ok: false, error: { kind: 'duplicate' } };
    return row?.next_version != null && row.tx !== null
      ? {
          ok: true,
          value: {
            nextVersion: row.next_version,
            lastPosition: { transactionId: row.tx, globalPosition: row.pos ?? 0 },
          },
        }
      : { ok: false, error: { kind: 'conflict', expected: append.expectedVersion } };
  });
};
