import { type Cause, upcast } from '@im/domain';
import {
  comparePositions,
  type LogPosition,
  type NextEventsOptions,
  nextEvents,
  readHorizon,
} from '@im/eventstore';
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../read-model/schema.ts';
import type { LoggedEvent } from './evolve-batch.ts';

export interface LogBatchOptions {
  limit: number;
  upTo?: LogPosition;
  /** The horizon, when the caller read it in an earlier statement; else it is read first. */
  horizon?: string;
}

/**
 * The batch nextEvents selects, shipped as one JSON text: parsing one string is far cheaper than
 * decoding thousands of rows, and catching up or replaying reads a great many.
 */
export const logBatchQuery = (
  after: LogPosition,
  options: NextEventsOptions,
): RawBuilder<{ batch: string | null }> =>
  // The aggregate takes the rows in the subquery's order, as PostgreSQL does for an ordered
  // subquery; an ORDER BY inside the aggregate would sort the batch again. parseLogBatch checks.
  sql<{ batch: string | null }>`
    SELECT '[' || string_agg(
             json_build_array(type, data, transaction_id::text, global_position, schema_version,
                              metadata)::text,
             ','
           ) || ']' AS batch
    FROM (${nextEvents(after, options)}) batch`;

/** Whether positions strictly ascend. */
const inReadOrder = (events: readonly LoggedEvent[]): boolean =>
  events.every(
    (event, i) =>
      i === 0 || comparePositions((events[i - 1] as LoggedEvent).position, event.position) < 0,
  );

/** The events of a batch the query returned, in today's shape (upcast), in read order. */
export const parseLogBatch = (batch: string | null | undefined): LoggedEvent[] => {
  if (!batch) return [];
  const events = (
    JSON.parse(batch) as Array<
      [string, unknown, string, number, number, { traceparent?: string; cause?: Cause } | null]
    >
  ).map(
    ([type, data, transactionId, globalPosition, schemaVersion, metadata]): LoggedEvent => ({
      event: upcast({ type, data, schemaVersion }),
      position: { transactionId, globalPosition },
      ...(metadata?.traceparent ? { traceparent: metadata.traceparent } : {}),
      ...(metadata?.cause ? { cause: metadata.cause } : {}),
    }),
  );
  return inReadOrder(events)
    ? events
    : events.sort((a, b) => comparePositions(a.position, b.position));
};

export const readLogBatch = async (
  db: Db,
  after: LogPosition,
  options: LogBatchOptions,
): Promise<LoggedEvent[]> => {
  const horizon = options.horizon ?? (await readHorizon(db));
  const query = logBatchQuery(after, { ...options, horizon });
  return parseLogBatch((await query.execute(db)).rows[0]?.batch);
};
