import {
  decideJoinGroup,
  decideLeaveGroup,
  fail,
  type GroupMembersJoined,
  type GroupMembersLeft,
  type GroupState,
  groupConversationID,
  ok,
  type Result,
  streams,
} from '@im/domain';
import { appendInTransaction, lockStream, streamVersion } from '@im/eventstore';
import { readModel } from '@im/projector';
import { awaitProjection, type EngineContext } from '../context.ts';
import { oneAtATime } from './one-at-a-time.ts';

const ATTEMPTS = 8;

/**
 * Joins or leaves, decided against the projected membership. The message stream's lock is held
 * while deciding, so the recorded maxSeq splits the group's messages exactly: the ones before it
 * and the ones after it, whichever commits first. Changes to one group take turns within this
 * process, so only one from another process can make a change decide again.
 */
const changeMembership = (
  context: EngineContext,
  command: { groupID: string; userIDs: string[] },
  decide: (state: GroupState) => Array<GroupMembersJoined | GroupMembersLeft>,
): Promise<Result<Record<string, never>>> =>
  oneAtATime(context, streams.group(command.groupID), () =>
    decideAndAppend(context, command, decide),
  );

const decideAndAppend = async (
  context: EngineContext,
  command: { groupID: string; userIDs: string[] },
  decide: (state: GroupState) => Array<GroupMembersJoined | GroupMembersLeft>,
): Promise<Result<Record<string, never>>> => {
  const { db } = context.database;
  const groupStream = streams.group(command.groupID);
  const conversationID = groupConversationID(command.groupID);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { version, lastPosition } = await streamVersion(db, groupStream);
    await awaitProjection(context, lastPosition);
    const members = await readModel.groupMembers(db, conversationID);
    const outcome = await db.transaction().execute(async (tx) => {
      if ((await lockStream(tx, groupStream)) !== version) return 'conflict' as const;
      const maxSeq = await lockStream(tx, streams.messages(conversationID));
      const events = decide({ members, maxSeq });
      if (events.length === 0) return undefined;
      const appended = await appendInTransaction(tx, groupStream, events, {
        expectedVersion: version,
      });
      return appended.ok ? appended.value.lastPosition : ('conflict' as const);
    });
    if (outcome === 'conflict') continue;
    await awaitProjection(context, outcome);
    return ok({});
  }
  return fail(
    409,
    `groupID: the members of ${command.groupID} kept changing concurrently; retry the request`,
  );
};

export const joinGroup = (
  context: EngineContext,
  command: { groupID: string; userIDs: string[] },
) => changeMembership(context, command, (state) => decideJoinGroup(command, state));

export const leaveGroup = (
  context: EngineContext,
  command: { groupID: string; userIDs: string[] },
) => changeMembership(context, command, (state) => decideLeaveGroup(command, state));
