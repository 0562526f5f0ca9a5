import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The first ones are named to sort before the read model's; later ones take the next number after
 * every migration there is, event store or read model: a database runs them in name order, and
 * one named before a migration it already ran would stop it.
 */
export const eventStoreMigrations: Record<string, Migration> = {
  '0001_event_log': {
    async up(db: Kysely<unknown>) {
      await sql`
        CREATE TABLE events (
          global_position bigserial PRIMARY KEY,
          transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
          stream_id text NOT NULL,
          stream_position bigint NOT NULL,
          type text NOT NULL,
          -- json, not jsonb: the log is read whole, never searched by content, and json is
          -- cheaper to write and to read back as text.
          data json NOT NULL,
          idempotency_key text,
          created_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (stream_id, stream_position)
        )`.execute(db);
      // The order every reader follows; without it each batch would scan.
      await sql`CREATE INDEX events_read_order ON events (transaction_id, global_position)`.execute(
        db,
      );
      await sql`CREATE UNIQUE INDEX events_idempotency ON events (stream_id, idempotency_key)
                WHERE idempotency_key IS NOT NULL`.execute(db);
      await sql`
        CREATE TABLE streams (
          stream_id text PRIMARY KEY,
          version bigint NOT NULL
        )`.execute(db);
      await sql`
        CREATE TABLE checkpoints (
          name text PRIMARY KEY,
          transaction_id xid8 NOT NULL,
          global_position bigint NOT NULL,
          handled bigint NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db);
    },
  },
  '0002_event_schema_version': {
    async up(db: Kysely<unknown>) {
      // The shape each event was written in, so that a later shape can be read beside the older.
      await sql`ALTER TABLE events ADD COLUMN schema_version smallint NOT NULL DEFAULT 1`.execute(
        db,
      );
    },
  },
  '0109_event_metadata': {
    async up(db: Kysely<unknown>) {
      // What came with the command beside its data (its W3C traceparent): none for most events.
      await sql`ALTER TABLE events ADD COLUMN metadata json`.execute(db);
    },
  },
};
