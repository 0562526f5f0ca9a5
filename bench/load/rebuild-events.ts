import {
  decideRecordMessage,
  messageConversationID,
  type RecordMessageCommand,
  streams,
} from '@im/domain';
import { appendToStream, openDatabase } from '@im/eventstore';
import { runConcurrently } from '../concurrently.ts';

/** 1,000,000 events make 100,000 conversations (issue 12's grown database). */
const MESSAGES_PER_CONVERSATION = 10;
const USERS = 2000;
const IN_FLIGHT = 4;

const command = (conversation: number, seq: number): RecordMessageCommand => {
  const a = conversation % USERS;
  const b = (a + 1 + Math.floor(conversation / USERS)) % USERS;
  const [sendID, recvID] = seq % 2 === 0 ? [`ru${a}`, `ru${b}`] : [`ru${b}`, `ru${a}`];
  return {
    clientMsgID: `r${conversation}_${seq}`,
    serverMsgID: '',
    sendID,
    recvID,
    groupID: '',
    sessionType: 1,
    contentType: 101,
    content: 'hello',
    sendTime: 1_700_000_000_000 + conversation * 1000 + seq,
    atUserIDList: [],
  };
};

/**
 * Appends about `count` single-chat messages to the event log, a conversation's messages per
 * append: the events are the ones `recordMessage` decides (same decider, same idempotency keys),
 * written through the event store's `appendToStream` in bulk instead of one request each.
 */
export const appendRebuildEvents = async (
  databaseUrl: string,
  count: number,
): Promise<{ appended: number; perSecond: number }> => {
  // 2000 users give 2000 × 1999 distinct pairs, far more conversations than any run needs
  const conversations = Math.ceil(count / MESSAGES_PER_CONVERSATION);
  const database = await openDatabase({ url: databaseUrl, poolSize: IN_FLIGHT });
  try {
    const run = await runConcurrently(conversations, IN_FLIGHT, async (conversation) => {
      const events = Array.from({ length: MESSAGES_PER_CONVERSATION }, (_, seq) => {
        const message = command(conversation, seq);
        const decided = decideRecordMessage(message, { maxSeq: seq, duplicateSeq: undefined });
        if (!decided.ok || decided.value.duplicate)
          throw new Error('the decider refused a message');
        return { ...decided.value.events[0], idempotencyKey: message.clientMsgID };
      });
      const stream = streams.messages(messageConversationID(command(conversation, 0)));
      const appended = await appendToStream(database.db, stream, events, { expectedVersion: 0 });
      return appended.ok;
    });
    if (run.failed > 0) throw new Error(`${run.failed} bulk appends failed`);
    const appended = conversations * MESSAGES_PER_CONVERSATION;
    return { appended, perSecond: appended / run.seconds };
  } finally {
    await database.close();
  }
};
