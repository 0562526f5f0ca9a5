import { comparePositions, LOG_START, type LogPosition } from '@im/eventstore';
import type { ConversationChange } from '../callbacks/outbox.ts';
import {
  applyBatch,
  createStateSet,
  evolveBatch,
  insertNewStates,
  type LoggedEvent,
  type StateSet,
  writeStates,
} from '../projection/apply-batch.ts';
import { type LogBatchOptions, readLogBatch } from '../projection/read-log.ts';
import type { Db } from '../read-model/schema.ts';
import { createPendingChanges } from './pending-changes.ts';
import type { ScratchTable } from './scratch-table.ts';

export interface ReplayOptions {
  db: Db;
  table: ScratchTable;
  /** Events read and applied at a time. */
  batchSize: number;
  /**
   * Rows kept in memory. Beyond it the replay writes them out and goes on reading each batch's
   * rows from the table, as the live projector does: slower, but in bounded memory.
   */
  cacheRows: number;
  /**
   * Whether the table gets its secondary indexes once loaded: a table that will serve needs
   * them, a scratch table that is only compared does not (unless the replay spills to it).
   */
  indexes: boolean;
  onEvents?: (events: number) => void;
  /** How the bulk fold reads the log, when not through `db` (see createQueryWorker). */
  readBatch?: (after: LogPosition, options: LogBatchOptions) => Promise<LoggedEvent[]>;
}

/**
 * Replays the event log into a scratch table. Up to a first target it folds the log in memory and
 * writes each row once; after that, each batch is written as it is applied. It records no
 * callbacks, but remembers the changes of events after `projected` — the live projector's
 * position — in case it takes the projector's place before the projector got to them.
 */
export const createReplay = (options: ReplayOptions) => {
  const { db, table, batchSize, cacheRows } = options;
  let position: LogPosition = LOG_START;
  let handled = 0;
  /** Every row the replay made, while they fit: then a row not in it does not exist. */
  let states: StateSet | undefined = createStateSet();
  let loaded = false;
  let projected: LogPosition = LOG_START;
  const pending = createPendingChanges();

  const read = (source: Db, upTo: LogPosition) =>
    readLogBatch(source, position, { limit: batchSize, upTo });

  const isProjected = (event: LoggedEvent) => comparePositions(event.position, projected) <= 0;

  const remember = (events: readonly LoggedEvent[], changes: readonly ConversationChange[]) => {
    // Events come in log order: those after the first unprojected one are all unprojected.
    const first = events.findIndex((event) => !isProjected(event));
    if (first === -1) return;
    for (const change of changes) {
      const index = change.version - handled - 1;
      if (index >= first) pending.record(change, (events[index] as LoggedEvent).position);
    }
  };

  /** Applies one batch, from memory while the rows fit in it, else through the table. */
  const apply = async (source: Db, events: readonly LoggedEvent[], write: boolean) => {
    const wanted = !isProjected(events.at(-1) as LoggedEvent);
    let next: { handled: number; changes: ConversationChange[] };
    if (states) {
      const evolved = evolveBatch(states, events, handled, { changes: wanted });
      if (write) await writeStates(source, table.name, evolved.changed);
      next = evolved;
    } else {
      next = await applyBatch(source, table.name, events, handled);
    }
    if (wanted) remember(events, next.changes);
    position = (events.at(-1) as LoggedEvent).position;
    handled = next.handled;
    options.onEvents?.(events.length);
  };

  /** Writes the rows out and builds the indexes: from here on the table is a read model. */
  const load = async () => {
    if (loaded) return;
    if (states) await insertNewStates(db, table.name, [...states.values()]);
    if (options.indexes) await table.createIndexes();
    loaded = true;
  };

  return {
    position: () => position,
    handled: () => handled,

    /** Where the live projector is: the changes of events up to there need no callbacks. */
    projectedUpTo(live: LogPosition) {
      if (comparePositions(live, projected) <= 0) return;
      projected = live;
      pending.prune(live);
    },

    /** The changes of the events after `live` that the replay applied, for the outbox. */
    changesAfter: (live: LogPosition) => pending.since(live),

    /**
     * Folds the log up to `upTo` in memory, reading the next batch while evolving this one,
     * then loads the table.
     */
    async build(upTo: LogPosition): Promise<void> {
      const readBatch =
        options.readBatch ??
        ((after: LogPosition, o: LogBatchOptions) => readLogBatch(db, after, o));
      // The next batch is read while this one is applied; a run that stops leaves it unread.
      const prefetch = (after: LogPosition) => {
        const reading = readBatch(after, { limit: batchSize, upTo });
        reading.catch(() => {});
        return reading;
      };
      let reading = prefetch(position);
      for (let events = await reading; events.length > 0; events = await reading) {
        reading = prefetch((events.at(-1) as LoggedEvent).position);
        await apply(db, events, false);
        if (states && states.size > cacheRows) {
          // Spill: the table takes over, with the indexes its reads need.
          await insertNewStates(db, table.name, [...states.values()]);
          states = undefined;
          await table.createIndexes();
          loaded = true;
        }
      }
      await load();
    },

    /** Applies the events after the replay's position up to `upTo`, through `source` (maybe a transaction). */
    async catchUp(source: Db, upTo: LogPosition): Promise<void> {
      await load();
      for (
        let events = await read(source, upTo);
        events.length > 0;
        events = await read(source, upTo)
      ) {
        await apply(source, events, true);
      }
    },
  };
};

export type Replay = ReturnType<typeof createReplay>;
