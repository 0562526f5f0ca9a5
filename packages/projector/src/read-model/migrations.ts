import { sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { Db } from './schema.ts';
import { summedTotals } from './totals.ts';

/** The conversation read model: created under any name so that a rebuild can build beside it. */
export const createConversationTable = async (db: Db, table: string): Promise<void> => {
  await sql`
    CREATE TABLE ${sql.table(table)} (
      -- Byte order, whatever the database's collation: the list order's tie-break is JavaScript's.
      owner text COLLATE "C" NOT NULL,
      conversation_id text COLLATE "C" NOT NULL,
      conversation_type smallint NOT NULL,
      user_id text NOT NULL,
      group_id text NOT NULL,
      recv_msg_opt smallint NOT NULL,
      group_at_type smallint NOT NULL,
      latest_msg text NOT NULL,
      latest_msg_seq bigint NOT NULL,
      latest_msg_send_time bigint NOT NULL,
      draft_text text NOT NULL,
      draft_text_time bigint NOT NULL,
      is_pinned boolean NOT NULL,
      is_private_chat boolean NOT NULL,
      burn_duration integer NOT NULL,
      is_not_in_group boolean NOT NULL,
      is_hidden boolean NOT NULL,
      attached_info text NOT NULL,
      ex text NOT NULL,
      max_seq bigint NOT NULL,
      min_seq bigint NOT NULL,
      has_read_seq bigint NOT NULL,
      version bigint NOT NULL,
      is_marked_unread boolean NOT NULL DEFAULT false,
      conversation_group_ids text[] NOT NULL DEFAULT '{}',
      recv_msg_opt_until bigint NOT NULL DEFAULT 0,
      is_msg_destruct boolean NOT NULL DEFAULT false,
      msg_destruct_time integer NOT NULL DEFAULT 604800,
      latest_msg_destruct_time bigint NOT NULL DEFAULT 0,
      -- The owner's partition (see the domain's partitionOf): whose projector writes the row.
      partition smallint NOT NULL DEFAULT 0,
      -- The list order as three ascending keys, so a keyset page is one index range.
      list_block smallint GENERATED ALWAYS AS (CASE WHEN is_pinned THEN 0 ELSE 1 END) STORED,
      list_time bigint GENERATED ALWAYS AS (-greatest(latest_msg_send_time, draft_text_time)) STORED,
      PRIMARY KEY (owner, conversation_id)
    )`.execute(db);
  // The indexes of later migrations too: a table made now has their columns.
  await createConversationIndexes(db, table);
  await createGroupedIndex(db, table);
  await createTimedIndex(db, table);
  await createDestructIndex(db, table);
};

/**
 * The conversation table's secondary indexes. The list keys of a live member row lag behind its
 * group's row, so only other rows are listed by index: an owner's group conversations are read by
 * their own index and ordered with their group's row.
 */
const createConversationIndexes = async (db: Db, table: string): Promise<void> => {
  await sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${table}_list`)} ON ${sql.table(table)}
            (owner, list_block, list_time, conversation_id)
            WHERE NOT is_hidden AND conversation_type <> 3`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${table}_groups`)} ON ${sql.table(table)} (owner)
            WHERE conversation_type = 3`.execute(db);
  // In owner order: a large group's members are expanded a page at a time (callback-pages.ts).
  await sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${table}_members`)} ON ${sql.table(table)}
            (conversation_id, partition, owner)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${table}_version`)} ON ${sql.table(table)}
            (owner, version)`.execute(db);
};

/** An owner's conversation groups are counted over the rows that are in one. */
const createGroupedIndex = (db: Db, table: string) =>
  sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${table}_grouped`)} ON ${sql.table(table)} (owner)
      WHERE cardinality(conversation_group_ids) > 0`.execute(db);

/** Conversations whose messages destroy themselves, looked at by partition (SPEC §8.2 rule 22). */
const createDestructIndex = (db: Db, table: string) =>
  sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${table}_destruct`)} ON ${sql.table(table)} (partition)
      WHERE is_msg_destruct`.execute(db);

/** Timed do-not-disturbs by when they end: the engine's schedule (SPEC §8.2 rule 21). */
const createTimedIndex = (db: Db, table: string) =>
  sql`CREATE INDEX IF NOT EXISTS ${sql.id(`${table}_timed`)} ON ${sql.table(table)}
      (recv_msg_opt_until) WHERE recv_msg_opt_until > 0`.execute(db);

/** An owner's conversation groups (SPEC §8.1 rule 17), under any name, as the conversation table. */
export const createConversationGroupTable = async (db: Db, table: string): Promise<void> => {
  await sql`
    CREATE TABLE ${sql.table(table)} (
      owner text COLLATE "C" NOT NULL,
      conversation_group_id text COLLATE "C" NOT NULL,
      name text NOT NULL,
      sort_order integer NOT NULL,
      ex text NOT NULL,
      version bigint NOT NULL,
      partition smallint NOT NULL DEFAULT 0,
      PRIMARY KEY (owner, conversation_group_id)
    )`.execute(db);
};

/** A group's shared row (see the domain's GroupState), under any name, as the conversation table. */
export const createGroupTable = async (db: Db, table: string): Promise<void> => {
  await sql`
    CREATE TABLE ${sql.table(table)} (
      partition smallint NOT NULL DEFAULT 0,
      conversation_id text COLLATE "C" NOT NULL,
      group_id text NOT NULL,
      max_seq bigint NOT NULL,
      latest_msg text NOT NULL,
      latest_msg_send_time bigint NOT NULL,
      at_all_seq bigint NOT NULL,
      version bigint NOT NULL,
      PRIMARY KEY (partition, conversation_id)
    )`.execute(db);
};

export const readModelMigrations: Record<string, Migration> = {
  '0100_conversation_read_model': {
    async up(db: Db) {
      await createConversationTable(db, 'conversation_item');
      // What changed for whom, written with the read model: the outbox the callback publisher follows.
      await sql`
        CREATE TABLE conversation_change (
          id bigserial PRIMARY KEY,
          owner text NOT NULL,
          version bigint NOT NULL,
          conversation_id text NOT NULL,
          kind smallint NOT NULL,
          total_changed boolean NOT NULL
        )`.execute(db);
      await sql`
        CREATE TABLE publisher_checkpoint (name text PRIMARY KEY, last_change_id bigint NOT NULL)`.execute(
        db,
      );
      await sql`
        CREATE TABLE leases (
          name text PRIMARY KEY,
          holder text NOT NULL,
          expires_at timestamptz NOT NULL
        )`.execute(db);
    },
  },
  '0101_owner_unread': {
    async up(db: Db) {
      // Each owner's total unread, kept by the projector as its batches move it.
      await sql`
        CREATE TABLE owner_unread (owner text COLLATE "C" PRIMARY KEY, total bigint NOT NULL)`.execute(
        db,
      );
      await sql`INSERT INTO owner_unread (owner, total) ${summedTotals}`.execute(db);
    },
  },
  '0102_group_rows': {
    async up(db: Db) {
      await createGroupTable(db, 'group_state');
      // From the member rows, which the engine kept up to date on every message so far: a
      // group's maxSeq and latest message are its members'. (@all and the group's version only
      // matter for messages to come; a rebuild gives them as the log has them.)
      await sql`
        INSERT INTO group_state (conversation_id, group_id, max_seq, latest_msg,
                                 latest_msg_send_time, at_all_seq, version)
        SELECT DISTINCT ON (conversation_id) conversation_id, group_id, max_seq, latest_msg,
               latest_msg_send_time, 0, 0
        FROM conversation_item WHERE conversation_type = 3 AND NOT is_not_in_group
        ORDER BY conversation_id, max_seq DESC, latest_msg_seq DESC`.execute(db);
      await sql`DROP INDEX IF EXISTS conversation_item_list`.execute(db);
      await createConversationIndexes(db, 'conversation_item');
      // Stored totals leave live members out now: theirs is derived when a total is read.
      await sql`DELETE FROM owner_unread`.execute(db);
      await sql`INSERT INTO owner_unread (owner, total) ${summedTotals}`.execute(db);
      // A group message is one outbox row for the members it does not name: its seq, and the
      // group's maxSeq before it, from which each one's change follows.
      await sql`
        ALTER TABLE conversation_change ADD COLUMN seq bigint NOT NULL DEFAULT 0,
          ADD COLUMN previous_max_seq bigint NOT NULL DEFAULT 0`.execute(db);
    },
  },
  '0103_partitions': {
    async up(db: Db) {
      // Rows, group rows and outbox rows belong to their owner's partition. A database that has
      // data keeps it in one partition (all of it is partition 0's) until a rebuild splits it.
      await sql`ALTER TABLE conversation_item ADD COLUMN IF NOT EXISTS
                  partition smallint NOT NULL DEFAULT 0`.execute(db);
      await sql`DROP INDEX IF EXISTS conversation_item_members`.execute(db);
      await createConversationIndexes(db, 'conversation_item');
      await sql`ALTER TABLE conversation_change ADD COLUMN partition smallint NOT NULL DEFAULT 0`.execute(
        db,
      );
      await sql`CREATE INDEX conversation_change_partition ON conversation_change (partition, id)`.execute(
        db,
      );
      await sql`
        CREATE TABLE projection_layout (
          singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
          partitions smallint NOT NULL CHECK (partitions BETWEEN 1 AND 64)
        )`.execute(db);
      await sql`
        INSERT INTO projection_layout (partitions)
        SELECT 1 WHERE EXISTS (SELECT 1 FROM checkpoints WHERE name = 'projector')`.execute(db);
      await sql`UPDATE checkpoints SET name = 'projector:0' WHERE name = 'projector'`.execute(db);
      await sql`UPDATE publisher_checkpoint SET name = 'callbacks:0' WHERE name = 'callbacks'`.execute(
        db,
      );
      await sql`DELETE FROM leases WHERE name = 'projector'`.execute(db);
      // A group row comes with its partition's first member now, and a message reaches only the
      // partitions that have one: a group whose members joined before any message gets it here.
      await sql`
        INSERT INTO group_state (partition, conversation_id, group_id, max_seq, latest_msg,
                                 latest_msg_send_time, at_all_seq, version)
        SELECT DISTINCT ON (conversation_id) 0, conversation_id, group_id, max_seq, '', 0, 0, 0
        FROM conversation_item WHERE conversation_type = 3
        ORDER BY conversation_id, max_seq DESC
        ON CONFLICT DO NOTHING`.execute(db);
    },
  },
  '0104_marked_unread': {
    async up(db: Db) {
      await sql`ALTER TABLE conversation_item ADD COLUMN IF NOT EXISTS
                  is_marked_unread boolean NOT NULL DEFAULT false`.execute(db);
    },
  },
  '0105_conversation_groups': {
    async up(db: Db) {
      await sql`ALTER TABLE conversation_item ADD COLUMN IF NOT EXISTS
                  conversation_group_ids text[] NOT NULL DEFAULT '{}'`.execute(db);
      await createGroupedIndex(db, 'conversation_item');
      await createConversationGroupTable(db, 'conversation_group');
    },
  },
  '0107_timed_recv_msg_opt': {
    async up(db: Db) {
      await sql`ALTER TABLE conversation_item ADD COLUMN IF NOT EXISTS
                  recv_msg_opt_until bigint NOT NULL DEFAULT 0`.execute(db);
      await createTimedIndex(db, 'conversation_item');
    },
  },
  '0108_message_destruct': {
    async up(db: Db) {
      await sql`ALTER TABLE conversation_item
                  ADD COLUMN IF NOT EXISTS is_msg_destruct boolean NOT NULL DEFAULT false,
                  ADD COLUMN IF NOT EXISTS msg_destruct_time integer NOT NULL DEFAULT 604800,
                  ADD COLUMN IF NOT EXISTS latest_msg_destruct_time bigint NOT NULL DEFAULT 0`.execute(
        db,
      );
      await createDestructIndex(db, 'conversation_item');
    },
  },
  '0106_outbox_traceparent': {
    async up(db: Db) {
      // The W3C traceparent and the cause of the command a change came from, for its callbacks.
      await sql`ALTER TABLE conversation_change ADD COLUMN traceparent text, ADD COLUMN cause json`.execute(
        db,
      );
    },
  },
  '0109_members_by_owner': {
    async up(db: Db) {
      await sql`DROP INDEX IF EXISTS conversation_item_members`.execute(db);
      await createConversationIndexes(db, 'conversation_item');
    },
  },
};
