import { type ConversationState, storedContribution, unreadContribution } from '@im/domain';
import {
  ChangeKind,
  type ConversationChange,
  type GroupFanout,
  originOf,
} from '../callbacks/outbox.ts';
import type { PartitionGroup } from '../read-model/columns.ts';
import type { ConversationGroupRow } from '../read-model/conversation-group-rows.ts';
import { affectedConversationGroups } from './conversation-group-changes.ts';
import type { LoggedEvent } from './evolve-batch.ts';
import type { PartitionScope } from './scope.ts';
import type { StateSet } from './state-set.ts';

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
  changedGroups: PartitionGroup[];
  /** Every conversation group the batch made, changed or deleted, as it left it. */
  changedConversationGroups: ConversationGroupRow[];
  /** What changed for whom, by name: what the callbacks are made of. */
  changes: ConversationChange[];
  /** The group messages: each changes the views of the members it does not name. */
  fanouts: GroupFanout[];
  /** By owner, how much the batch moved their stored total; owners it did not move are absent. */
  unreadDeltas: Map<string, number>;
}

const CONVERSATION_GROUP_KINDS = {
  added: ChangeKind.conversationGroupAdded,
  changed: ChangeKind.conversationGroupChanged,
  deleted: ChangeKind.conversationGroupDeleted,
} as const;

type ConversationGroupChange = keyof typeof CONVERSATION_GROUP_KINDS;

/**
 * What a batch records for its callbacks (when `recording`): changes by name and group messages,
 * each carrying the traceparent and cause of the event being applied.
 */
const createChangeLog = (scope: PartitionScope, recording: boolean) => {
  let origin: Pick<LoggedEvent, 'traceparent' | 'cause'> = {};
  const changes: ConversationChange[] = [];
  const fanouts: GroupFanout[] = [];
  return {
    recording,
    changes,
    fanouts,
    tracing(event: LoggedEvent) {
      origin = originOf(event);
    },
    change(change: Omit<ConversationChange, 'partition' | 'traceparent' | 'cause'>) {
      if (recording)
        changes.push({ partition: scope.partitionOf(change.owner), ...change, ...origin });
    },
    /** An owner's conversation group changed at `version`: its callback, by kind. */
    conversationGroupChanged(
      owner: string,
      version: number,
      conversationGroupID: string,
      kind: ConversationGroupChange,
    ) {
      this.change({
        owner,
        version,
        conversationID: conversationGroupID,
        kind: CONVERSATION_GROUP_KINDS[kind],
        totalChanged: false,
      });
    },
    /** A group message's row: the views of the members it does not name changed. */
    fanout(after: PartitionGroup, previousMaxSeq: number) {
      if (!recording) return;
      fanouts.push({
        partition: after.partition,
        version: after.version,
        conversationID: after.conversationID,
        seq: after.maxSeq,
        previousMaxSeq,
        ...origin,
      });
    },
  };
};

/** The batch's bookkeeping while it evolves. */
export const createTally = (states: StateSet, scope: PartitionScope, recording: boolean) => {
  const log = createChangeLog(scope, recording);
  const changed = new Set<ConversationState>();
  const changedGroups = new Set<PartitionGroup>();
  const changedConversationGroups = new Map<string, ConversationGroupRow>();
  const unreadDeltas = new Map<string, number>();
  return {
    tracing: log.tracing,
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
      if (!log.recording) return;
      for (const conversationGroupID of affectedConversationGroups(before, view))
        log.conversationGroupChanged(after.owner, after.version, conversationGroupID, 'changed');
      const kind = changeKind(before, view);
      if (kind === undefined) return;
      const totalChanged = unreadContribution(view) !== (before ? unreadContribution(before) : 0);
      const { owner, version, conversationID } = after;
      log.change({ owner, version, conversationID, kind, totalChanged });
    },
    /** An owner's conversation group made, changed or deleted by its own event. */
    conversationGroup(row: ConversationGroupRow, kind: ConversationGroupChange) {
      states.rememberConversationGroup(row);
      changedConversationGroups.set(`${row.owner}\u0000${row.conversationGroupID}`, row);
      log.conversationGroupChanged(row.owner, row.version, row.conversationGroupID, kind);
    },
    /** A partition's group row made or changed; by a message, `fanout` for its members. */
    group(after: PartitionGroup, fanout?: { previousMaxSeq: number }) {
      const before = states.group(after.partition, after.conversationID);
      states.rememberGroup(after);
      if (before) changedGroups.delete(before);
      changedGroups.add(after);
      if (fanout) log.fanout(after, fanout.previousMaxSeq);
    },
    result: (handled: number): EvolvedBatch => ({
      handled,
      changed: [...changed],
      changedGroups: [...changedGroups],
      changedConversationGroups: [...changedConversationGroups.values()],
      changes: log.changes,
      fanouts: log.fanouts,
      unreadDeltas,
    }),
  };
};

export type Tally = ReturnType<typeof createTally>;
