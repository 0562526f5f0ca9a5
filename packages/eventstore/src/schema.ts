import type { Generated } from 'kysely';

export interface EventsTable {
  global_position: Generated<number>;
  /** xid8 as text: the reader orders by (transaction_id, global_position). */
  transaction_id: Generated<string>;
  stream_id: string;
  stream_position: number;
  type: string;
  data: unknown;
  idempotency_key: string | null;
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
