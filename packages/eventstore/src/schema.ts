import type { Generated, QueryExecutorProvider } from 'kysely';

// bigint columns are read as JavaScript numbers: database.ts sets pg's parser for int8 once, for
// every connection (positions, versions, seqs and counts stay far below 2^53).

export interface EventsTable {
  global_position: Generated<number>;
  /** xid8 as text: the reader orders by (transaction_id, global_position). */
  transaction_id: Generated<string>;
  stream_id: string;
  stream_position: number;
  type: string;
  data: unknown;
  idempotency_key: string | null;
  /** The shape the event was written in (see the domain's upcast). */
  schema_version: Generated<number>;
  created_at: Generated<Date>;
}

export interface StreamsTable {
  stream_id: string;
  version: number;
}

export interface CheckpointsTable {
  name: string;
  transaction_id: string;
  global_position: number;
  /** How many events the reader has handled: the projector's version counter. */
  handled: number;
  updated_at: Generated<Date>;
}

export interface EventStoreSchema {
  events: EventsTable;
  streams: StreamsTable;
  checkpoints: CheckpointsTable;
}

/**
 * Where a statement of the log runs: the pool, a connection or a transaction, of any database
 * type that includes the log's tables (the engine's includes the read model's too). The log's
 * functions write their statements in SQL, so they need nothing more of it.
 */
export type Queryable = QueryExecutorProvider;
