import {
  type ConversationItem,
  type ConversationState,
  decideOwnerCommand,
  type OwnerCommand,
  type OwnerConversationEvent,
  ok,
  partitionOf,
  type Result,
  streams,
  toItem,
  unknownConversation,
} from '@im/domain';
import { type DecisionRead, readModel } from '@im/projector';
import type { EngineContext } from '../context.ts';
import { type CommandTarget, type Decision, runCommand } from './run-command.ts';

const conflict = (owner: string) =>
  `userID: the conversations of ${owner} kept changing concurrently; retry the request`;

/** An owner's stream, decided on with the states `read` gives; it changes the owner's partition. */
export const ownerTarget = <State>(
  context: EngineContext,
  owner: string,
  read: () => Promise<DecisionRead<State>>,
): CommandTarget<State> => ({
  stream: streams.owner(owner),
  read,
  partitions: [partitionOf(owner, context.partitions)],
  conflict: conflict(owner),
});

const decision = (decided: Result<OwnerConversationEvent[]>): Result<Decision<void>> =>
  decided.ok ? ok({ events: decided.value, reply: undefined }) : decided;

/** The owner's conversation as it is now, or 404. */
export const currentItem = async (
  context: EngineContext,
  owner: string,
  conversationID: string,
): Promise<Result<ConversationItem>> => {
  const state = await context.states.load({ owner, conversationID });
  return state ? ok(toItem(state)) : unknownConversation(owner, conversationID);
};

/** Runs a command on one of the owner's conversations and answers the conversation afterwards. */
export const runOwnerCommand = async (
  context: EngineContext,
  command: OwnerCommand,
): Promise<Result<ConversationItem>> => {
  const { owner, conversationID } = command;
  const target = ownerTarget(context, owner, () =>
    context.decisionStates.load({ owner, conversationID }),
  );
  const done = await runCommand(context, target, (state) =>
    decision(decideOwnerCommand(command, state, context.now())),
  );
  return done.ok ? currentItem(context, owner, conversationID) : done;
};

/** Decides one command for each of several conversations, appended together. */
const decideEach = (
  states: readonly ConversationState[],
  command: (state: ConversationState) => OwnerCommand,
  now: number,
): Result<OwnerConversationEvent[]> => {
  const events: OwnerConversationEvent[] = [];
  for (const state of states) {
    const decided = decideOwnerCommand(command(state), state, now);
    if (!decided.ok) return decided;
    events.push(...decided.value);
  }
  return ok(events);
};

/**
 * Runs a command on each of the owner's conversations `conversationIDs` names, in one append;
 * an unknown one fails them all with 404. Answers the conversations afterwards.
 */
export const runOnConversations = async (
  context: EngineContext,
  owner: string,
  conversationIDs: readonly string[],
  command: (state: ConversationState) => OwnerCommand,
): Promise<Result<ConversationState[]>> => {
  const { db } = context.database;
  const target = ownerTarget(context, owner, () =>
    readModel.decisionStatesOf(db, owner, conversationIDs, context.partitions),
  );
  const done = await runCommand(context, target, (states) => {
    const known = new Set(states.map((state) => state.conversationID));
    const missing = conversationIDs.find((id) => !known.has(id));
    if (missing !== undefined) return unknownConversation(owner, missing);
    return decision(decideEach(states, command, context.now()));
  });
  if (!done.ok) return done;
  return ok(await readModel.getConversationStates(db, owner, conversationIDs));
};

/** Runs one command on each of the owner's conversations that `read` selects, in one append. */
const runOnEach = (
  context: EngineContext,
  owner: string,
  read: typeof readModel.decisionStatesListed,
  type: 'MarkConversationRead' | 'HideConversation',
): Promise<Result<void>> =>
  runCommand(
    context,
    ownerTarget(context, owner, () => read(context.database.db, owner, context.partitions)),
    (states) =>
      decision(
        decideEach(
          states,
          (state) => ({ type, owner, conversationID: state.conversationID }),
          context.now(),
        ),
      ),
  );

/** Marks every conversation of the owner that has anything unread, flagged or marked as read. */
export const markAllRead = (context: EngineContext, owner: string): Promise<Result<void>> =>
  runOnEach(context, owner, readModel.decisionStatesToMarkRead, 'MarkConversationRead');

/** Hides every conversation the owner has listed (SPEC §8.1 rule 20). */
export const hideAll = (context: EngineContext, owner: string): Promise<Result<void>> =>
  runOnEach(context, owner, readModel.decisionStatesListed, 'HideConversation');
