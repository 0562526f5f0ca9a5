import type { ConversationChange, GroupFanout } from '../callbacks/outbox.ts';
import type { Db } from '../read-model/schema.ts';
import { evolveBatch, type LoggedEvent } from './evolve-batch.ts';
import { loadStates, type ReadModelTables, writeStates } from './rows.ts';
import type { PartitionScope } from './scope.ts';
import type { StateSet } from './state-set.ts';

export interface BatchResult {
  handled: number;
  changes: ConversationChange[];
  fanouts: GroupFanout[];
  unreadDeltas: Map<string, number>;
  /** The rows as they are after the batch: what its callbacks show. */
  states: StateSet;
}

/**
 * Applies a batch of events to the read model of the scope's partitions, set-based: one read of
 * every row the batch touches, the domain's evolve in memory, one upsert of what changed.
 * `changes: false` works out no changes for callbacks (a replay that owes none).
 */
export const applyBatch = async (
  db: Db,
  tables: ReadModelTables,
  stored: readonly LoggedEvent[],
  handled: number,
  options: { scope: PartitionScope; changes?: boolean },
): Promise<BatchResult> => {
  const { scope } = options;
  const { states, seeds } = await loadStates(db, tables, stored, scope);
  const evolved = evolveBatch(states, stored, handled, {
    scope,
    seeds,
    changes: options.changes ?? true,
  });
  await writeStates(
    db,
    tables,
    {
      rows: evolved.changed,
      groups: evolved.changedGroups,
      conversationGroups: evolved.changedConversationGroups,
    },
    scope.count,
  );
  return {
    handled: evolved.handled,
    changes: evolved.changes,
    fanouts: evolved.fanouts,
    unreadDeltas: evolved.unreadDeltas,
    states,
  };
};
