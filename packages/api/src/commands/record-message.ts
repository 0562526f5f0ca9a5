import {
  decideRecordMessage,
  fail,
  messageConversationID,
  ok,
  type RecordMessageCommand,
  type Result,
  streams,
} from '@im/domain';
import type { LogPosition, StreamState } from '@im/eventstore';
import { awaitProjection, type EngineContext } from '../context.ts';
import { knownVersions } from './known-versions.ts';
import { oneAtATime } from './one-at-a-time.ts';

const ATTEMPTS = 8;

export interface RecordMessageReply {
  conversationID: string;
  seq: number;
  duplicate: boolean;
}

/**
 * Decides the next seq from the stream's version (and whether clientMsgID is known), appends with
 * that version expected. Messages of one conversation take turns within this process, so 200 at
 * once take seqs 1..200 without colliding; one from another process makes it decide again.
 */
const decideAndAppend = async (
  context: EngineContext,
  command: RecordMessageCommand,
  stream: string,
): Promise<Result<{ reply: RecordMessageReply; position: LogPosition | undefined }>> => {
  const conversationID = messageConversationID(command);
  const versions = knownVersions(context);
  const remembered = versions.get(stream);
  // A remembered version knows nothing of clientMsgID: a retried message then fails the append
  // as a duplicate, and the stream's state, read anew, answers its seq.
  let state: StreamState = remembered
    ? { ...remembered, duplicateOf: undefined }
    : await context.versions.load({ streamId: stream, idempotencyKey: command.clientMsgID });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const decided = decideRecordMessage(command, {
      maxSeq: state.version,
      duplicateSeq: state.duplicateOf,
    });
    if (!decided.ok) return decided;
    const { seq, duplicate, events } = decided.value;
    const reply = { conversationID, seq, duplicate };
    if (duplicate) return ok({ reply, position: state.lastPosition });
    const keyed = events.map((event) => ({ ...event, idempotencyKey: command.clientMsgID }));
    const appended = await context.appends.append(stream, keyed, {
      expectedVersion: state.version,
    });
    if (appended.ok) {
      const { nextVersion, lastPosition } = appended.value;
      versions.remember(stream, { version: nextVersion, lastPosition });
      return ok({ reply, position: lastPosition });
    }
    versions.forget(stream);
    state = await context.versions.load({ streamId: stream, idempotencyKey: command.clientMsgID });
  }
  return fail(
    409,
    `conversationID: ${conversationID} kept changing concurrently; retry the request`,
  );
};

export const recordMessage = async (
  context: EngineContext,
  command: RecordMessageCommand,
): Promise<Result<RecordMessageReply>> => {
  const stream = streams.messages(messageConversationID(command));
  const done = await oneAtATime(context, stream, () => decideAndAppend(context, command, stream));
  if (!done.ok) return done;
  await awaitProjection(context, done.value.position);
  return ok(done.value.reply);
};
