import { type Checkpoint, comparePositions, LOG_START, type LogPosition } from '@im/eventstore';
import type { ConversationChange, GroupFanout } from '../callbacks/outbox.ts';
import { applyBatch } from '../projection/apply-batch.ts';
import { evolveBatch, type LoggedEvent } from '../projection/evolve-batch.ts';
import { type LogBatchOptions, readLogBatch } from '../projection/read-log.ts';
import { insertNewStates, loadJoinSeeds, writeStates } from '../projection/rows.ts';
import { wholeLog } from '../projection/scope.ts';
import { createStateSet, type StateSet } from '../projection/state-set.ts';
import type { Db } from '../read-model/schema.ts';
import {
  createUnprojectedChanges,
  type LivePositions,
  type UnprojectedExport,
} from './pending-changes.ts';
import type { ScratchTable } from './scratch-table.ts';

export interface ReplayOptions {
  db: Db;
  /** Its tables, and how their secondary indexes are built (a replay thread leaves that to its starter). */
  table: Pick<ScratchTable, 'tables' | 'createIndexes'>;
  /** The number of partitions the read model is built for, and the one to build if not all. */
  partitions: number;
  only?: number | readonly number[];
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
  /**
   * Folds the log up to `upTo` into the table in threads of their own, each for its share of the
   * partitions (see buildInThreads), instead of in this one.
   */
  buildInThreads?: (upTo: LogPosition, live: LivePositions) => Promise<BuiltElsewhere>;
}

/** Where a fold in other threads left the table: its position, count and owed changes. */
export interface BuiltElsewhere {
  position: LogPosition;
  handled: number;
  unprojected: UnprojectedExport;
}

/**
 * The log's batches from `from`, each next one read while the one before is worked on; a run that
 * stops leaves the one read ahead unread.
 */
async function* prefetching(
  readBatch: (after: LogPosition, options: LogBatchOptions) => Promise<LoggedEvent[]>,
  from: LogPosition,
  options: LogBatchOptions,
): AsyncGenerator<LoggedEvent[]> {
  const prefetch = (after: LogPosition) => {
    const reading = readBatch(after, options);
    reading.catch(() => {});
    return reading;
  };
  let reading = prefetch(from);
  for (let events = await reading; events.length > 0; events = await reading) {
    reading = prefetch((events.at(-1) as LoggedEvent).position);
    yield events;
  }
}

/** One batch applied: in memory while the rows fit there (written out if `write`), else through the table. */
const applyEvents = async (
  options: ReplayOptions,
  batch: {
    source: Db;
    states: StateSet | undefined;
    events: readonly LoggedEvent[];
    handled: number;
    write: boolean;
  },
  scope: ReturnType<typeof wholeLog>,
  wanted: ReturnType<ReturnType<typeof createUnprojectedChanges>['wanted']>,
): Promise<{ handled: number; changes: ConversationChange[]; fanouts: GroupFanout[] }> => {
  const { source, states, events, handled } = batch;
  if (!states)
    return applyBatch(source, options.table.tables, events, handled, { scope, changes: wanted });
  // Joins' seeds are read from the log: the scratch tables have no rows to miss.
  const { seeds } = await loadJoinSeeds(source, events, scope, states);
  const evolved = evolveBatch(states, events, handled, { scope, seeds, changes: wanted });
  if (batch.write)
    await writeStates(
      source,
      options.table.tables,
      {
        rows: evolved.changed,
        groups: evolved.changedGroups,
        conversationGroups: evolved.changedConversationGroups,
      },
      options.partitions,
    );
  return evolved;
};

/** Notes, for each partition whose stop the batch passes, the count of events there. */
const noteStops = (
  stopped: Map<number, Checkpoint>,
  events: readonly LoggedEvent[],
  before: number,
  until: ReadonlyMap<number, LogPosition>,
) => {
  events.forEach((event, i) => {
    for (const [p, end] of until)
      if (comparePositions(event.position, end) === 0)
        stopped.set(p, { position: end, handled: before + i + 1 });
  });
};

/**
 * The replay's fold: where it stands, the rows while they fit in memory, and the table once they
 * do not (see createReplay).
 */
const createFold = (options: ReplayOptions) => {
  const { db, table, partitions } = options;
  let position: LogPosition = LOG_START;
  let handled = 0;
  /** Every row the replay made, while they fit: then a row not in it does not exist. */
  let states: StateSet | undefined = createStateSet();
  let loaded = false;
  const unprojected = createUnprojectedChanges();
  /** Where each partition stopped (see catchUp's `until`): its position and count there. */
  const stopped = new Map<number, Checkpoint>();

  /** Writes the rows out and builds the indexes: from here on the table is a read model. */
  const load = async (indexes = options.indexes) => {
    if (loaded) return;
    if (states) await insertNewStates(db, table.tables, states, { partitions });
    if (indexes) await table.createIndexes();
    loaded = true;
  };

  return {
    position: () => position,
    handled: () => handled,
    stopped,
    unprojected,
    load,

    /** Applies one batch, from memory while the rows fit in it, else through the table. */
    async apply(
      source: Db,
      events: readonly LoggedEvent[],
      write: boolean,
      until?: ReadonlyMap<number, LogPosition>,
    ) {
      const wanted = unprojected.wanted(events);
      const scope = wholeLog(partitions, { only: options.only, until });
      const batch = { source, states, events, handled, write };
      const next = await applyEvents(options, batch, scope, wanted);
      if (wanted) unprojected.remember(events, next, handled);
      if (until) noteStops(stopped, events, handled, until);
      position = (events.at(-1) as LoggedEvent).position;
      handled = next.handled;
      options.onEvents?.(events.length);
    },

    /** Takes the place where other threads built the table to; from here on it reads the table. */
    async resume(built: BuiltElsewhere) {
      position = built.position;
      handled = built.handled;
      states = undefined;
      unprojected.absorb(built.unprojected);
      if (options.indexes) await table.createIndexes();
      loaded = true;
    },

    /** Past `cacheRows` rows in memory, the table takes over, with the indexes its reads need. */
    async spillWhenFull() {
      if (!states || states.size <= options.cacheRows) return;
      await load(true);
      states = undefined;
    },
  };
};

/**
 * Replays the event log into a scratch table. Up to a first target it folds the log in memory and
 * writes each row once; after that, each batch is written as it is applied. It records no
 * callbacks, but remembers the changes of events after `projected` — the live projector's
 * position — in case it takes the projector's place before the projector got to them.
 */
export const createReplay = (options: ReplayOptions) => {
  const { db, batchSize } = options;
  const fold = createFold(options);
  return {
    position: fold.position,
    handled: fold.handled,

    /** Where the live projector is: the changes of events up to there need no callbacks. */
    projectedUpTo: fold.unprojected.projectedUpTo,

    /** The changes of the events after `live` that the replay applied, for the outbox. */
    changesAfter: fold.unprojected.since,

    /**
     * Folds the log up to `upTo` in memory, reading the next batch while evolving this one,
     * then loads the table.
     */
    async build(upTo: LogPosition): Promise<void> {
      if (options.buildInThreads) {
        const live = fold.unprojected.projected();
        return fold.resume(await options.buildInThreads(upTo, live));
      }
      const readBatch =
        options.readBatch ??
        ((after: LogPosition, o: LogBatchOptions) => readLogBatch(db, after, o));
      const batches = prefetching(readBatch, fold.position(), { limit: batchSize, upTo });
      for await (const events of batches) {
        await fold.apply(db, events, false);
        await fold.spillWhenFull();
      }
      await fold.load();
    },

    /**
     * Applies the events after the replay's position up to `upTo`, through `source` (maybe a
     * transaction); with `until`, each partition it names stops at its own place there.
     */
    async catchUp(
      source: Db,
      upTo: LogPosition,
      until?: ReadonlyMap<number, LogPosition>,
    ): Promise<void> {
      await fold.load();
      const at = { position: fold.position(), handled: fold.handled() };
      for (const [p, end] of until ?? [])
        if (comparePositions(end, at.position) === 0) fold.stopped.set(p, at);
      for (;;) {
        const events = await readLogBatch(source, fold.position(), { limit: batchSize, upTo });
        if (events.length === 0) return;
        await fold.apply(source, events, true, until);
      }
    },

    /** Where a partition stopped in catchUp's `until`, with the count of events there. */
    stoppedAt: (partition: number) => fold.stopped.get(partition),

    /** The changes it owes callbacks for, to move to another thread (see BuiltElsewhere). */
    unprojected: () => fold.unprojected.exported(),
  };
};

export type Replay = ReturnType<typeof createReplay>;
