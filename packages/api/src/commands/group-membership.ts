import {
  decideJoinGroup,
  decideLeaveGroup,
  type GroupMembersJoined,
  type GroupMembersLeft,
  groupConversationID,
  type MembershipState,
  ok,
  type Result,
  streams,
} from '@im/domain';
import { appendInTransaction, lockStream } from '@im/eventstore';
import { readModel } from '@im/projector';
import type { EngineContext } from '../context.ts';
import {
  type Attempt,
  type CommandTarget,
  type Decide,
  type Read,
  runCommand,
  toNewEvents,
} from './run-command.ts';

type Membership = { groupID: string; userIDs: string[] };

/**
 * A group's stream, decided on with its projected members and the group's maxSeq. The decision is
 * made inside the append's transaction, holding the group's message stream's lock, so the maxSeq
 * recorded splits the group's messages exactly: those before it and those after it, whichever
 * commits first.
 */
const groupTarget = (
  context: EngineContext,
  groupID: string,
): CommandTarget<ReadonlySet<string>, MembershipState> => {
  const { db } = context.database;
  const stream = streams.group(groupID);
  return {
    stream,
    read: () => readModel.decisionMembersOf(db, groupID),
    decideAndAppend: <Reply>(
      read: Read<ReadonlySet<string>>,
      decide: Decide<MembershipState, Reply>,
    ): Promise<Attempt<Reply>> =>
      db.transaction().execute(async (tx): Promise<Attempt<Reply>> => {
        if ((await lockStream(tx, stream)) !== read.version) return { kind: 'conflict' };
        const maxSeq = await lockStream(tx, streams.messages(groupConversationID(groupID)));
        const decided = decide({ members: read.state, maxSeq });
        if (!decided.ok || decided.value.events.length === 0) return { kind: 'decided', decided };
        const outcome = await appendInTransaction(tx, stream, toNewEvents(decided.value.events), {
          expectedVersion: read.version,
        });
        return outcome.ok
          ? { kind: 'appended', reply: decided.value.reply, result: outcome.value }
          : { kind: 'conflict' };
      }),
    conflict: `groupID: the members of ${groupID} kept changing concurrently; retry the request`,
  };
};

const changeMembership = (
  context: EngineContext,
  groupID: string,
  decide: (state: MembershipState) => Array<GroupMembersJoined | GroupMembersLeft>,
): Promise<Result<Record<string, never>>> =>
  runCommand(context, groupTarget(context, groupID), (state) =>
    ok({ events: decide(state), reply: {} }),
  );

export const joinGroup = (context: EngineContext, command: Membership) =>
  changeMembership(context, command.groupID, (state) => decideJoinGroup(command, state));

export const leaveGroup = (context: EngineContext, command: Membership) =>
  changeMembership(context, command.groupID, (state) => decideLeaveGroup(command, state));
