import {
  decideRecordMessage,
  type MessageStreamState,
  messageConversationID,
  ok,
  partitionOf,
  type RecordMessageCommand,
  type Result,
  streams,
} from '@im/domain';
import type { EngineContext } from '../context.ts';
import { type CommandTarget, type Read, runCommand } from './run-command.ts';

export interface RecordMessageReply {
  conversationID: string;
  seq: number;
  duplicate: boolean;
}

/**
 * A conversation's message stream, decided on by its own version (the conversation's maxSeq) and
 * whether it holds the clientMsgID already: nothing projected is read, so nothing waits before
 * deciding. The version this process left the stream at is tried first; it knows nothing of
 * clientMsgID, so a retried message fails its append as a duplicate, and the stream's state,
 * read anew, answers its seq.
 */
const messageTarget = (
  context: EngineContext,
  command: RecordMessageCommand,
  conversationID: string,
): CommandTarget<MessageStreamState> => {
  const stream = streams.messages(conversationID);
  const { clientMsgID } = command;
  // A group message reaches every partition that has members; a chat message its two owners'.
  const partitions =
    command.sessionType === 3
      ? ('all' as const)
      : [
          ...new Set(
            [command.sendID, command.recvID].map((id) => partitionOf(id, context.partitions)),
          ),
        ];
  return {
    stream,
    partitions,
    async read(): Promise<Read<MessageStreamState>> {
      const known = context.knownVersions.get(stream);
      const state =
        known !== undefined
          ? { ...known, duplicateOf: undefined }
          : await context.versions.load({ streamId: stream, idempotencyKey: clientMsgID });
      return {
        state: { maxSeq: state.version, duplicateSeq: state.duplicateOf },
        version: state.version,
        replyAfter: state.lastPosition,
      };
    },
    appended(result) {
      if (result)
        context.knownVersions.remember(stream, { ...result, version: result.nextVersion });
      else context.knownVersions.forget(stream);
    },
    conflict: `conversationID: ${conversationID} kept changing concurrently; retry the request`,
  };
};

/** SPEC §3 rules 1, 12, 13, 16: the next seq, gapless; a repeated clientMsgID answers its seq. */
export const recordMessage = (
  context: EngineContext,
  command: RecordMessageCommand,
): Promise<Result<RecordMessageReply>> => {
  const conversationID = messageConversationID(command);
  const target = messageTarget(context, command, conversationID);
  return runCommand(context, target, (state) => {
    const decided = decideRecordMessage(command, state);
    if (!decided.ok) return decided;
    const { seq, duplicate, events } = decided.value;
    return ok({
      events: events.map((event) => ({ ...event, idempotencyKey: command.clientMsgID })),
      reply: { conversationID, seq, duplicate },
    });
  });
};
