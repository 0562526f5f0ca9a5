/** A place in the log's read order: (transaction_id, global_position), compared in that order. */
export interface LogPosition {
  transactionId: string;
  globalPosition: number;
}

export const LOG_START: LogPosition = { transactionId: '0', globalPosition: 0 };

/**
 * Transaction ids are xid8s printed in decimal without leading zeros: the shorter is the smaller,
 * and equal lengths compare as strings. No BigInt, as readers compare every event of a batch.
 */
export const comparePositions = (a: LogPosition, b: LogPosition): number => {
  const ax = a.transactionId;
  const bx = b.transactionId;
  const byTransaction = ax.length - bx.length || (ax < bx ? -1 : ax > bx ? 1 : 0);
  return byTransaction || a.globalPosition - b.globalPosition;
};
