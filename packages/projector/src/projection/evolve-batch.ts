import {
  type ConversationEvent,
  type ConversationState,
  deriveMember,
  differs,
  evolve,
  evolveGroup,
  type GroupState,
  isLiveMember,
  type MessageRecorded,
  namedOwners,
  storedContribution,
  unreadContribution,
} from '@im/domain';
import type { LogPosition } from '@im/eventstore';
import { ChangeKind, type ConversationChange } from '../callbacks/outbox.ts';
import type { StateSet } from './state-set.ts';

/** What projecting needs of a stored event: the domain event (upcast) and where it sits in the log. */
export interface LoggedEvent {
  event: ConversationEvent;
  position: LogPosition;
}

export const conversationOf = (event: ConversationEvent): string =>
  event.type === 'GroupMembersJoined' || event.type === 'GroupMembersLeft'
    ? `sg_${event.data.groupID}`
    : event.data.conversationID;

export const isGroupMessage = (event: ConversationEvent): event is MessageRecorded =>
  event.type === 'MessageRecorded' && event.data.conversationType === 3;

const changeKind = (
  before: ConversationState | undefined,
  after: ConversationState,
): ChangeKind | undefined => {
  const wasListed = before !== undefined && !before.isHidden;
  if (!after.isHidden) return wasListed ? ChangeKind.changed : ChangeKind.entered;
  return wasListed ? ChangeKind.left : undefined;
};

export interface EvolvedBatch {
  /** The number of events handled after this batch: the version of its last changes. */
  handled: number;
  /** Every row the batch changed, as it is after the batch. */
  changed: ConversationState[];
  /** Every group row the batch changed. */
  changedGroups: GroupState[];
  /** What changed for whom: what the callbacks are made of. */
  changes: ConversationChange[];
  /** By owner, how much the batch moved their stored total; owners it did not move are absent. */
  unreadDeltas: Map<string, number>;
}

/** The batch's bookkeeping while it evolves. */
const createTally = (states: StateSet, recording: boolean) => {
  const changed = new Set<ConversationState>();
  const changedGroups = new Map<string, GroupState>();
  const changes: ConversationChange[] = [];
  const unreadDeltas = new Map<string, number>();
  return {
    recording,
    /** A row the event changed by name: stored, its stored total moved, its change recorded. */
    stored(before: ConversationState | undefined, after: ConversationState, fanout: boolean) {
      const row = states.get(after.owner, after.conversationID);
      states.remember(after);
      if (row) changed.delete(row);
      changed.add(after);
      const delta = storedContribution(after) - (before ? storedContribution(before) : 0);
      if (delta !== 0) unreadDeltas.set(after.owner, (unreadDeltas.get(after.owner) ?? 0) + delta);
      this.seen(before, after, fanout);
    },
    /** A view that changed: recorded for the callbacks. */
    seen(before: ConversationState | undefined, after: ConversationState, fanout: boolean) {
      if (!recording) return;
      const kind = changeKind(before, after);
      if (kind === undefined) return;
      const totalChanged = unreadContribution(after) !== (before ? unreadContribution(before) : 0);
      changes.push({
        owner: after.owner,
        version: after.version,
        conversationID: after.conversationID,
        kind,
        totalChanged,
        fanout,
      });
    },
    group(group: GroupState) {
      states.rememberGroup(group);
      changedGroups.set(group.conversationID, group);
    },
    result: (handled: number): EvolvedBatch => ({
      handled,
      changed: [...changed],
      changedGroups: [...changedGroups.values()],
      changes,
      unreadDeltas,
    }),
  };
};

type Tally = ReturnType<typeof createTally>;

/** The event for one owner it names: the owner's view, evolved and stored when it changed. */
const applyNamed = (
  states: StateSet,
  tally: Tally,
  event: ConversationEvent,
  owner: string,
  context: { version: number; group: GroupState | undefined; fanout: boolean },
) => {
  const conversationID = conversationOf(event);
  const row = states.get(owner, conversationID);
  const before = row && deriveMember(row, context.group);
  const after = evolve(before, event, owner);
  if (!after || !differs(before, after)) return;
  // evolve made a new object for the change: it is ours to number.
  after.version = context.version;
  tally.stored(before, after, context.fanout);
};

/**
 * A group message: the group's row takes it, the members it names (sender, @-mentioned) are
 * brought up to date, and every other member's view follows from the group's row; their changes
 * are recorded from the rows held (all live members', when the callbacks are wanted).
 */
const applyGroupMessage = (
  states: StateSet,
  tally: Tally,
  event: MessageRecorded,
  version: number,
) => {
  const { conversationID } = event.data;
  const before = states.group(conversationID);
  const after = evolveGroup(before, event, version);
  if (after === before) return;
  tally.group(after);
  const named = new Set(namedOwners(event));
  for (const owner of named)
    applyNamed(states, tally, event, owner, { version, group: before, fanout: true });
  if (!tally.recording) return;
  for (const owner of states.owners(conversationID)) {
    const row = states.get(owner, conversationID) as ConversationState;
    if (named.has(owner) || !isLiveMember(row)) continue;
    const was = deriveMember(row, before);
    const now = deriveMember(row, after);
    if (differs(was, now)) tally.seen(was, now, true);
  }
};

/**
 * Evolves `states` through the events, in memory. Each event takes the next number after
 * `handled`; that number is the version of everything it changed. `states` must hold every row
 * the events name and the group rows of their group conversations (see loadStates); it is updated
 * in place. `changes: false` skips working out the callbacks' changes, for a replay that needs
 * none.
 */
export const evolveBatch = (
  states: StateSet,
  stored: readonly LoggedEvent[],
  handled: number,
  options: { changes?: boolean } = {},
): EvolvedBatch => {
  const tally = createTally(states, options.changes ?? true);
  let version = handled;
  for (const { event } of stored) {
    version += 1;
    if (isGroupMessage(event)) {
      applyGroupMessage(states, tally, event, version);
      continue;
    }
    const group = states.group(conversationOf(event));
    for (const owner of namedOwners(event))
      applyNamed(states, tally, event, owner, { version, group, fanout: false });
  }
  return tally.result(version);
};
