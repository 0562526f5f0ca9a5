import { partitionOf } from '@im/domain';
import { comparePositions, LOG_START, type LogPosition } from '@im/eventstore';
import {
  ChangeKind,
  type ConversationChange,
  type GroupFanout,
  type OutboxEntry,
  outboxEntries,
} from '../callbacks/outbox.ts';
import type { LoggedEvent } from '../projection/evolve-batch.ts';

interface Pending {
  last: ConversationChange;
  lastAt: LogPosition;
  /** The latest change that listed or unlisted the conversation. */
  turn: { kind: ChangeKind; at: LogPosition } | undefined;
  totalChangedAt: LogPosition | undefined;
}

const after = (position: LogPosition | undefined, limit: LogPosition) =>
  position !== undefined && comparePositions(position, limit) > 0;

/**
 * The changes a replay made, one per conversation row: what the callbacks of events the live
 * projector has not projected yet are made of, should the replay take its place. A row's burst
 * of changes becomes one change at its last version, as SPEC §5 allows: the publisher sends the
 * row's current state, and it is `entered` when the burst listed the row and nothing unlisted it.
 */
export const createPendingChanges = () => {
  const rows = new Map<string, Pending>();
  return {
    record(change: ConversationChange, at: LogPosition) {
      const key = `${change.owner}\u0000${change.conversationID}`;
      const pending = rows.get(key);
      rows.set(key, {
        last: change,
        lastAt: at,
        turn: change.kind === ChangeKind.changed ? pending?.turn : { kind: change.kind, at },
        totalChangedAt: change.totalChanged ? at : pending?.totalChangedAt,
      });
    },
    /** Forgets the rows whose last change the live projectors have passed. */
    prune(live: LivePositions) {
      for (const [key, pending] of rows)
        if (!after(pending.lastAt, live.of(pending.last.owner))) rows.delete(key);
    },
    /** The coalesced changes of the events the live projectors have not passed, in version order. */
    since(live: LivePositions): ConversationChange[] {
      const changes: ConversationChange[] = [];
      for (const { last, lastAt, turn, totalChangedAt } of rows.values()) {
        const position = live.of(last.owner);
        if (!after(lastAt, position)) continue;
        const entered =
          last.kind === ChangeKind.changed &&
          turn?.kind === ChangeKind.entered &&
          after(turn.at, position);
        changes.push({
          ...last,
          kind: entered ? ChangeKind.entered : last.kind,
          totalChanged: after(totalChangedAt, position),
        });
      }
      return changes.sort((a, b) => a.version - b.version);
    },
    get size() {
      return rows.size;
    },
    /** What it holds, to move to another thread (see absorb). */
    entries: () => [...rows],
    /** Takes rows another replay recorded, of other owners than its own. */
    absorb(entries: ReadonlyArray<readonly [string, Pending]>) {
      for (const [key, row] of entries) rows.set(key, row);
    },
  };
};

export type PendingChanges = ReturnType<typeof createPendingChanges>;

/**
 * Where the live projectors stand: the position of each owner's partition, and the earliest of
 * them (a group message's members are in every partition).
 */
export interface LivePositions {
  of(owner: string): LogPosition;
  earliest: LogPosition;
  /** What they were made of (see livePositions), to make them again in another thread. */
  count: number;
  positions: ReadonlyMap<number, LogPosition>;
}

/** The live positions of a layout of `count` partitions, from their checkpoints' positions. */
export const livePositions = (
  count: number,
  positions: ReadonlyMap<number, LogPosition>,
): LivePositions => {
  const at = (p: number) => positions.get(p) ?? LOG_START;
  const all = Array.from({ length: count }, (_, p) => at(p));
  return {
    of: (owner) => at(partitionOf(owner, count)),
    earliest: all.reduce((a, b) => (comparePositions(b, a) < 0 ? b : a), all[0] ?? LOG_START),
    count,
    positions,
  };
};

export const NOTHING_PROJECTED: LivePositions = livePositions(0, new Map());

/** What a replay remembered of unprojected events, moved between threads. */
export interface UnprojectedExport {
  rows: Array<[string, Pending]>;
  fanouts: Array<{ fanout: GroupFanout; at: LogPosition }>;
}

/**
 * The changes a replay made to events the live projectors have not projected yet: those it owes
 * callbacks for, should it take their place. A group message is owed while any partition has not
 * passed it (its members who had it already get it again, deduplicated within JetStream's window).
 */
export const createUnprojectedChanges = () => {
  let projected: LivePositions = NOTHING_PROJECTED;
  const pending = createPendingChanges();
  /** Group messages after the live projectors, with where they are in the log. */
  let fanouts: Array<{ fanout: GroupFanout; at: LogPosition }> = [];
  const isProjected = (event: LoggedEvent) =>
    comparePositions(event.position, projected.earliest) <= 0;
  return {
    /** Where the live projectors are: the changes of events up to there need no callbacks. */
    projectedUpTo(live: LivePositions) {
      projected = live;
      pending.prune(live);
      fanouts = fanouts.filter(({ at }) => comparePositions(at, live.earliest) > 0);
    },
    /** Whether any event of the batch is past the live projector (its changes are wanted). */
    wanted: (events: readonly LoggedEvent[]) => !isProjected(events.at(-1) as LoggedEvent),
    /**
     * Keeps the changes and group messages of the batch's unprojected events; `handled` counts
     * the events before the batch.
     */
    remember(
      events: readonly LoggedEvent[],
      changed: { changes: readonly ConversationChange[]; fanouts: readonly GroupFanout[] },
      handled: number,
    ) {
      // Events come in log order: those after the first unprojected one are all unprojected.
      const first = events.findIndex((event) => !isProjected(event));
      if (first === -1) return;
      const at = (version: number) => (events[version - handled - 1] as LoggedEvent).position;
      for (const change of changed.changes)
        if (change.version - handled - 1 >= first) pending.record(change, at(change.version));
      for (const fanout of changed.fanouts)
        if (fanout.version - handled - 1 >= first) fanouts.push({ fanout, at: at(fanout.version) });
    },
    /** Where the live projectors are, as last told. */
    projected: () => projected,
    /** What it remembered, to move to another thread. */
    exported: (): UnprojectedExport => ({ rows: pending.entries(), fanouts }),
    /** Takes what a replay of other partitions remembered (see exported). */
    absorb(other: UnprojectedExport) {
      pending.absorb(other.rows);
      fanouts = [...fanouts, ...other.fanouts];
    },
    /**
     * What the outbox owes for the events after `live`: a change a conversation row (a burst
     * shown at its last version) and each group message, in version order.
     */
    since: (live: LivePositions): OutboxEntry[] =>
      outboxEntries(
        pending.since(live),
        fanouts
          .filter(({ at }) => comparePositions(at, live.earliest) > 0)
          .map(({ fanout }) => fanout),
      ),
  };
};
