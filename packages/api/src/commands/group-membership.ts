import {
  decideJoinGroup,
  decideLeaveGroup,
  type GroupMembersJoined,
  type GroupMembersLeft,
  type MembershipState,
  ok,
  partitionOf,
  type Result,
  streams,
} from '@im/domain';
import { readModel } from '@im/projector';
import type { EngineContext } from '../context.ts';
import { type CommandTarget, runCommand } from './run-command.ts';

type Membership = { groupID: string; userIDs: string[] };

/**
 * A group's stream, decided on with its projected members and the group's maxSeq. The maxSeq a
 * join records splits the group's messages: a new member sees every message after it, whenever
 * that one commits, as members' views follow the group's row.
 */
const groupTarget = (
  context: EngineContext,
  groupID: string,
  userIDs: readonly string[],
): CommandTarget<MembershipState> => ({
  stream: streams.group(groupID),
  read: () => readModel.decisionMembersOf(context.database.db, groupID, context.partitions),
  partitions: [...new Set(userIDs.map((userID) => partitionOf(userID, context.partitions)))],
  // Who is in the group is read from every partition's rows.
  readFrom: 'all',
  conflict: `groupID: the members of ${groupID} kept changing concurrently; retry the request`,
});

const changeMembership = (
  context: EngineContext,
  command: Membership,
  decide: (state: MembershipState) => Array<GroupMembersJoined | GroupMembersLeft>,
): Promise<Result<Record<string, never>>> =>
  runCommand(context, groupTarget(context, command.groupID, command.userIDs), (state) =>
    ok({ events: decide(state), reply: {} }),
  );

export const joinGroup = (context: EngineContext, command: Membership) =>
  changeMembership(context, command, (state) => decideJoinGroup(command, state));

export const leaveGroup = (context: EngineContext, command: Membership) =>
  changeMembership(context, command, (state) => decideLeaveGroup(command, state));
