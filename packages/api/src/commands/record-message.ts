import {
  decideRecordMessage,
  messageConversationID,
  ok,
  type RecordMessageCommand,
  type Result,
  streams,
} from '@im/domain';
import { appendInTransaction, lockStream, streamVersion } from '@im/eventstore';
import { sql } from 'kysely';
import { awaitProjection, type EngineContext } from '../context.ts';

export interface RecordMessageReply {
  conversationID: string;
  seq: number;
  duplicate: boolean;
}

/**
 * Records a message under its conversation's stream lock: appends queue on the lock instead of
 * colliding, so 200 concurrent messages take seqs 1..200 without a retry between them.
 */
export const recordMessage = async (
  context: EngineContext,
  command: RecordMessageCommand,
): Promise<Result<RecordMessageReply>> => {
  const conversationID = messageConversationID(command);
  const stream = streams.messages(conversationID);
  const decided = await context.database.db.transaction().execute(async (tx) => {
    const maxSeq = await lockStream(tx, stream);
    const duplicate = await sql<{ stream_position: number }>`
      SELECT stream_position FROM events
      WHERE stream_id = ${stream} AND idempotency_key = ${command.clientMsgID}`.execute(tx);
    const decision = decideRecordMessage(command, {
      maxSeq,
      duplicateSeq: duplicate.rows[0]?.stream_position,
    });
    if (!decision.ok || decision.value.events.length === 0) return decision;
    const events = decision.value.events.map((event) => ({
      ...event,
      idempotencyKey: command.clientMsgID,
    }));
    const appended = await appendInTransaction(tx, stream, events, { expectedVersion: maxSeq });
    return appended.ok ? { ...decision, position: appended.value.lastPosition } : decision;
  });
  if (!decided.ok) return decided;
  const position =
    'position' in decided
      ? decided.position
      : (await streamVersion(context.database.db, stream)).lastPosition;
  await awaitProjection(context, position);
  return ok({ conversationID, seq: decided.value.seq, duplicate: decided.value.duplicate });
};
