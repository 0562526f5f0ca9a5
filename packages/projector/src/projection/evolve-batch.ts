import {
  type ConversationEvent,
  type ConversationState,
  deriveMember,
  differs,
  evolve,
  evolveGroup,
  type GroupState,
  type MessageRecorded,
  namedOwners,
  storedContribution,
  unreadContribution,
} from '@im/domain';
import type { LogPosition } from '@im/eventstore';
import { ChangeKind, type ConversationChange, type GroupFanout } from '../callbacks/outbox.ts';
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
  /** What changed for whom, by name: what the callbacks are made of. */
  changes: ConversationChange[];
  /** The group messages: each changes the views of the members it does not name. */
  fanouts: GroupFanout[];
  /** By owner, how much the batch moved their stored total; owners it did not move are absent. */
  unreadDeltas: Map<string, number>;
}

/** The batch's bookkeeping while it evolves. */
const createTally = (states: StateSet, recording: boolean) => {
  const changed = new Set<ConversationState>();
  const changedGroups = new Map<string, GroupState>();
  const changes: ConversationChange[] = [];
  const fanouts: GroupFanout[] = [];
  const unreadDeltas = new Map<string, number>();
  return {
    recording,
    /**
     * A row the event changed by name: stored, its stored total moved, and the change of the
     * owner's view (before, `view` after) recorded.
     */
    stored(
      before: ConversationState | undefined,
      after: ConversationState,
      view: ConversationState,
    ) {
      const row = states.get(after.owner, after.conversationID);
      states.remember(after);
      if (row) changed.delete(row);
      changed.add(after);
      const delta = storedContribution(after) - (before ? storedContribution(before) : 0);
      if (delta !== 0) unreadDeltas.set(after.owner, (unreadDeltas.get(after.owner) ?? 0) + delta);
      if (!recording) return;
      const kind = changeKind(before, view);
      if (kind === undefined) return;
      const totalChanged = unreadContribution(view) !== (before ? unreadContribution(before) : 0);
      changes.push({
        owner: after.owner,
        version: after.version,
        conversationID: after.conversationID,
        kind,
        totalChanged,
      });
    },
    /** A group message: its row taken, the views of the members it does not name to follow. */
    group(before: GroupState | undefined, after: GroupState) {
      states.rememberGroup(after);
      changedGroups.set(after.conversationID, after);
      if (recording)
        fanouts.push({
          version: after.version,
          conversationID: after.conversationID,
          seq: after.maxSeq,
          previousMaxSeq: before?.maxSeq ?? 0,
        });
    },
    result: (handled: number): EvolvedBatch => ({
      handled,
      changed: [...changed],
      changedGroups: [...changedGroups.values()],
      changes,
      fanouts,
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
  context: { version: number; group: GroupState | undefined },
) => {
  const conversationID = conversationOf(event);
  const row = states.get(owner, conversationID);
  const before = row && deriveMember(row, context.group);
  const after = evolve(before, event, owner);
  if (!after || !differs(before, after)) return;
  // evolve made a new object for the change: it is ours to number.
  after.version = context.version;
  // The stored row is the view, but for a new member who joined behind the group's row: their
  // view follows the row from the start (SPEC §3 rule 2: they see what came after their join).
  tally.stored(before, after, deriveMember(after, states.group(conversationID)));
};

/**
 * A group message: the group's row takes it and the members it names (sender, @-mentioned) are
 * brought up to date. Every other member's view follows from the group's row: nothing of theirs
 * is read or written here, and their callbacks are worked out when published (GroupFanout).
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
  tally.group(before, after);
  for (const owner of namedOwners(event))
    applyNamed(states, tally, event, owner, { version, group: before });
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
      applyNamed(states, tally, event, owner, { version, group });
  }
  return tally.result(version);
};
