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
    /** Forgets the rows whose last change is at or before `position`: already projected live. */
    prune(position: LogPosition) {
      for (const [key, pending] of rows) if (!after(pending.lastAt, position)) rows.delete(key);
    },
    /** The coalesced changes of the events after `position`, in version order. */
    since(position: LogPosition): ConversationChange[] {
      const changes: ConversationChange[] = [];
      for (const { last, lastAt, turn, totalChangedAt } of rows.values()) {
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
  };
};

export type PendingChanges = ReturnType<typeof createPendingChanges>;

/**
 * The changes a replay made to events the live projector has not projected yet: those it owes
 * callbacks for, should it take the projector's place.
 */
export const createUnprojectedChanges = () => {
  let projected: LogPosition = LOG_START;
  const pending = createPendingChanges();
  /** Group messages after the live projector, with where they are in the log. */
  let fanouts: Array<{ fanout: GroupFanout; at: LogPosition }> = [];
  const isProjected = (event: LoggedEvent) => comparePositions(event.position, projected) <= 0;
  return {
    /** Where the live projector is: the changes of events up to there need no callbacks. */
    projectedUpTo(live: LogPosition) {
      if (comparePositions(live, projected) <= 0) return;
      projected = live;
      pending.prune(live);
      fanouts = fanouts.filter(({ at }) => comparePositions(at, live) > 0);
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
    /**
     * What the outbox owes for the events after `live`: a change a conversation row (a burst
     * shown at its last version) and each group message, in version order.
     */
    since: (live: LogPosition): OutboxEntry[] =>
      outboxEntries(
        pending.since(live),
        fanouts.filter(({ at }) => comparePositions(at, live) > 0).map(({ fanout }) => fanout),
      ),
  };
};
