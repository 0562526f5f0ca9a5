/**
 * DataLoader options for reads of concurrent commands: the loads made in one turn of the event
 * loop go out as one query once the turn is over, and nothing is kept for the next turn.
 */
export const perTurn = {
  cache: false,
  batchScheduleFn: (run: () => void) => setImmediate(run),
} as const;
