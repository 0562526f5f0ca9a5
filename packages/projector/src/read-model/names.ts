// The read model's names that more than one file uses: where the live rows are, the checkpoints
// and lease it keeps, and the channel it notifies. Its tables are declared in schema.ts.

/** The live conversation table; a rebuild builds a scratch one beside it and takes its name. */
export const LIVE_TABLE = 'conversation_item';
/** The projector's checkpoint in `checkpoints`, and its lease in `leases`. */
export const PROJECTOR_CHECKPOINT = 'projector';
export const PROJECTOR_LEASE = 'projector';
/** Where each batch's commit announces the projector's new position. */
export const PROJECTED_CHANNEL = 'im_projected';
/** The callback publisher's checkpoint in `publisher_checkpoint`. */
export const PUBLISHER_CHECKPOINT = 'callbacks';
