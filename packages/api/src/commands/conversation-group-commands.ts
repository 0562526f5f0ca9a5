import {
  type ConversationGroupCommand,
  type ConversationGroupItem,
  type ConversationGroupsDecisionState,
  decideConversationGroupCommand,
  ok,
  type Result,
  unknownConversationGroup,
} from '@im/domain';
import { readModel } from '@im/projector';
import type { EngineContext } from '../context.ts';
import { ownerTarget } from './owner-commands.ts';
import { runCommand } from './run-command.ts';

/**
 * What a conversation-group command decides on, fresh over the owner's stream (where the groups'
 * events are) and the streams of the conversations it names: for a delete, those in the group.
 */
const readDecisionState = async (context: EngineContext, command: ConversationGroupCommand) => {
  const { db } = context.database;
  const { owner } = command;
  const read =
    command.type === 'DeleteConversationGroup'
      ? await readModel.decisionStatesInConversationGroup(
          db,
          owner,
          command.conversationGroupID,
          context.partitions,
        )
      : await readModel.decisionStatesOf(
          db,
          owner,
          'conversationIDs' in command ? [...new Set(command.conversationIDs)] : [],
          context.partitions,
        );
  // Read after the owner stream's version: a group event in between fails the append, which
  // then decides again.
  const groups = await readModel.conversationGroupFieldsOf(db, owner);
  const state: ConversationGroupsDecisionState = {
    groups,
    conversations: new Map(read.state.map((s) => [s.conversationID, s.conversationGroupIDs])),
  };
  return { ...read, state };
};

/** Runs a command on the owner's conversation groups and answers the group afterwards. */
export const runConversationGroupCommand = async (
  context: EngineContext,
  command: ConversationGroupCommand,
): Promise<Result<ConversationGroupItem | undefined>> => {
  const { owner, conversationGroupID } = command;
  const target = ownerTarget(context, owner, () => readDecisionState(context, command));
  const done = await runCommand(context, target, (state) => {
    const decided = decideConversationGroupCommand(command, state);
    return decided.ok ? ok({ events: decided.value, reply: undefined }) : decided;
  });
  if (!done.ok) return done;
  if (command.type === 'DeleteConversationGroup') return ok(undefined);
  const [group] = await readModel
    .conversationGroupsOf(context.database.db, owner)
    .then((all) => all.filter((g) => g.conversationGroupID === conversationGroupID));
  return group ? ok(group) : unknownConversationGroup(owner, conversationGroupID);
};
