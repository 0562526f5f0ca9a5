/** A place in the log's read order: (transaction_id, global_position), compared in that order. */
export interface LogPosition {
  transactionId: string;
  globalPosition: number;
}

export const LOG_START: LogPosition = { transactionId: '0', globalPosition: 0 };

export const comparePositions = (a: LogPosition, b: LogPosition): number => {
  const ax = BigInt(a.transactionId);
  const bx = BigInt(b.transactionId);
  if (ax !== bx) return ax < bx ? -1 : 1;
  return a.globalPosition - b.globalPosition;
};
