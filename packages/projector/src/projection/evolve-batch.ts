import {
  type Cause,
  type ConversationEvent,
  deriveMember,
  differs,
  evolve,
  evolveGroup,
  type GroupMembersJoined,
  type GroupState,
  isConversationGroupDefinition,
  type MessageRecorded,
  namedOwners,
  newGroupState,
} from '@im/domain';
import type { LogPosition } from '@im/eventstore';
import type { PartitionGroup } from '../read-model/columns.ts';
import { createTally, type EvolvedBatch, type Tally } from './batch-tally.ts';
import { conversationGroupRow } from './conversation-group-changes.ts';
import type { PartitionScope } from './scope.ts';
import type { StateSet } from './state-set.ts';

/** What projecting needs of a stored event: the domain event (upcast) and where it sits in the log. */
export interface LoggedEvent {
  event: ConversationEvent;
  position: LogPosition;
  /** The W3C traceparent of the command that appended it, if it came with one. */
  traceparent?: string;
  /** Who caused it (SPEC §8.2 rule 25), for events appended since causes are kept. */
  cause?: Cause;
}

/** The conversation an event is about; none ('') for a conversation group's own events. */
export const conversationOf = (event: ConversationEvent): string =>
  event.type === 'GroupMembersJoined' || event.type === 'GroupMembersLeft'
    ? `sg_${event.data.groupID}`
    : 'conversationID' in event.data
      ? event.data.conversationID
      : '';

export const isGroupMessage = (event: ConversationEvent): event is MessageRecorded =>
  event.type === 'MessageRecorded' && event.data.conversationType === 3;

export type { EvolvedBatch };

/** Where an event is projected: its number (the version of what it changes) and its position. */
interface At {
  version: number;
  position: LogPosition;
}

/** The event for one owner it names: the owner's view, evolved and stored when it changed. */
const applyNamed = (
  states: StateSet,
  tally: Tally,
  event: ConversationEvent,
  owner: string,
  context: { version: number; partition: number; group: PartitionGroup | undefined },
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
  tally.stored(before, after, deriveMember(after, states.group(context.partition, conversationID)));
};

/**
 * A group message: each held partition's copy of the group's row takes it (a partition with no
 * members has none), and the members it names (sender, @-mentioned) are brought up to date. Every
 * other member's view follows from their partition's row: nothing of theirs is read or written
 * here, and their callbacks are worked out when published (GroupFanout).
 */
const applyGroupMessage = (
  states: StateSet,
  tally: Tally,
  scope: PartitionScope,
  event: MessageRecorded,
  at: At,
) => {
  const { conversationID } = event.data;
  const before = new Map<number, PartitionGroup | undefined>();
  for (const partition of scope.partitions) {
    if (!scope.takes(partition, at.position)) continue;
    const row = states.group(partition, conversationID);
    before.set(partition, row);
    if (!row) continue;
    const after = evolveGroup(row, event, at.version) as PartitionGroup;
    if (after !== row) tally.group(after, { previousMaxSeq: row.maxSeq });
  }
  for (const owner of namedOwners(event)) {
    const partition = scope.partitionOf(owner);
    if (before.has(partition))
      applyNamed(states, tally, event, owner, {
        version: at.version,
        partition,
        group: before.get(partition),
      });
  }
};

/**
 * What a partition's first member of a group finds: the group's messages after the maxSeq the
 * join recorded that the log holds before the join (messages that committed behind the join's
 * decision), which the partition passed over while it had no row for the group. loadStates reads
 * them from the log; the common case is none.
 */
export type JoinSeeds = ReadonlyMap<ConversationEvent, readonly MessageRecorded[]>;

/** Membership: each held partition of a joining member gets the group's row if it had none. */
const applyMembership = (
  states: StateSet,
  tally: Tally,
  scope: PartitionScope,
  event: Exclude<ConversationEvent, MessageRecorded>,
  at: At,
  seeds: JoinSeeds,
) => {
  const conversationID = conversationOf(event);
  for (const owner of namedOwners(event)) {
    if (!scope.owns(owner, at.position)) continue;
    const partition = scope.partitionOf(owner);
    if (event.type === 'GroupMembersJoined' && !states.group(partition, conversationID))
      tally.group(seededGroup(event, partition, seeds.get(event), at.version));
    applyNamed(states, tally, event, owner, {
      version: at.version,
      partition,
      group: states.group(partition, conversationID),
    });
  }
};

/** The group's row as a partition's first member finds it at their join. */
const seededGroup = (
  event: GroupMembersJoined,
  partition: number,
  seed: readonly MessageRecorded[] | undefined,
  version: number,
): PartitionGroup => {
  const { groupID, maxSeq } = event.data;
  const base: PartitionGroup = { ...newGroupState(`sg_${groupID}`, groupID), partition, maxSeq };
  const seeded = (seed ?? []).reduce<GroupState>(
    (row, message) => evolveGroup(row, message, 0),
    base,
  );
  return { ...seeded, partition, version: seeded === base ? 0 : version };
};

/**
 * Evolves `states` through the events, in memory, for the partitions of `scope`. Each event takes
 * the next number after `handled`; that number is the version of everything it changed. `states`
 * must hold every row the events name in the scope's partitions and those partitions' group rows
 * of their group conversations, and `seeds` the join seeds (see loadStates); it is updated in
 * place. `changes: false` skips working out the callbacks' changes, for a replay that needs none.
 */
export const evolveBatch = (
  states: StateSet,
  stored: readonly LoggedEvent[],
  handled: number,
  options: {
    scope: PartitionScope;
    seeds?: JoinSeeds;
    changes?: boolean;
  },
): EvolvedBatch => {
  const { scope } = options;
  const seeds = options.seeds ?? new Map();
  const tally = createTally(states, scope, options.changes ?? true);
  let version = handled;
  for (const logged of stored) {
    const { event, position } = logged;
    tally.tracing(logged);
    version += 1;
    const at = { version, position };
    if (isGroupMessage(event)) applyGroupMessage(states, tally, scope, event, at);
    else if (isConversationGroupDefinition(event)) {
      const { owner } = event.data;
      if (!scope.owns(owner, position)) continue;
      tally.conversationGroup(
        conversationGroupRow(event, version, scope.partitionOf(owner)),
        event.type === 'ConversationGroupCreated'
          ? 'added'
          : event.type === 'ConversationGroupUpdated'
            ? 'changed'
            : 'deleted',
      );
    } else if (event.type === 'GroupMembersJoined' || event.type === 'GroupMembersLeft')
      applyMembership(states, tally, scope, event, at, seeds);
    else
      for (const owner of namedOwners(event)) {
        if (!scope.owns(owner, position)) continue;
        const partition = scope.partitionOf(owner);
        const group = states.group(partition, conversationOf(event));
        applyNamed(states, tally, event, owner, { version, partition, group });
      }
  }
  return tally.result(version);
};
