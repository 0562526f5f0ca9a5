// The read model's names that more than one file uses: where the live rows are, the checkpoints
// and leases it keeps, and the channel it notifies. Its tables are declared in schema.ts.

/** The live conversation table; a rebuild builds a scratch one beside it and takes its name. */
export const LIVE_TABLE = 'conversation_item';
/** A partition's projector checkpoint in `checkpoints`, and its lease in `leases`. */
export const projectorCheckpoint = (partition: number) => `projector:${partition}`;
export const projectorLease = (partition: number) => `projector:${partition}`;
/** Where each batch's commit announces the new position of the partitions it projected. */
export const PROJECTED_CHANNEL = 'im_projected';
/** A partition's callback publisher checkpoint in `publisher_checkpoint`. */
export const publisherCheckpoint = (partition: number) => `callbacks:${partition}`;
