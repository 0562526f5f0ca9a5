import type { Database, EventStoreSchema } from '@im/eventstore';
import type { Generated, Kysely } from 'kysely';

// Every table the projector and the API touch, beside the log's. bigint columns are read as
// numbers (see @im/eventstore's schema.ts).

/** One owner's view of one conversation (SPEC §2 less the derived unread count). */
export interface ConversationItemTable {
  owner: string;
  conversation_id: string;
  conversation_type: number;
  user_id: string;
  group_id: string;
  recv_msg_opt: number;
  group_at_type: number;
  latest_msg: string;
  latest_msg_seq: number;
  latest_msg_send_time: number;
  draft_text: string;
  draft_text_time: number;
  is_pinned: boolean;
  is_private_chat: boolean;
  burn_duration: number;
  is_not_in_group: boolean;
  is_hidden: boolean;
  attached_info: string;
  ex: string;
  max_seq: number;
  min_seq: number;
  has_read_seq: number;
  version: number;
  /** The list order as ascending keys: 0 pinned, 1 not. */
  list_block: Generated<number>;
  /** Minus the later of the latest message's and the draft's times. */
  list_time: Generated<number>;
}

/** The outbox: what changed for whom, written with the read model, followed by the publisher. */
export interface ConversationChangeTable {
  id: Generated<number>;
  owner: string;
  version: number;
  conversation_id: string;
  kind: number;
  total_changed: boolean;
  /** For a group message's row (owner ''): its seq, and the group's maxSeq before it. */
  seq: Generated<number>;
  previous_max_seq: Generated<number>;
}

/** A group's shared row (see the domain's GroupState). */
export interface GroupStateTable {
  partition: Generated<number>;
  conversation_id: string;
  group_id: string;
  max_seq: number;
  latest_msg: string;
  latest_msg_send_time: number;
  at_all_seq: number;
  version: number;
}

/** Each owner's total unread (SPEC §2), moved by the projector's batches. */
export interface OwnerUnreadTable {
  owner: string;
  total: number;
}

/** How far the callback publisher got in the outbox. */
export interface PublisherCheckpointTable {
  name: string;
  last_change_id: number;
}

/** Who runs the projector: the one holder whose lease has not expired. */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: Date;
}

export interface ReadModelSchema {
  conversation_item: ConversationItemTable;
  group_state: GroupStateTable;
  conversation_change: ConversationChangeTable;
  owner_unread: OwnerUnreadTable;
  publisher_checkpoint: PublisherCheckpointTable;
  leases: LeasesTable;
}

/** The engine's whole database: the log and the read model. */
export type EngineSchema = EventStoreSchema & ReadModelSchema;
export type Db = Kysely<EngineSchema>;
export type EngineDatabase = Database<EngineSchema>;
