import { type ConversationState, evolve, singleConversationID } from '@im/domain';

/** The receiver's conversation after a first message from `sendID`, at `version`. */
export const firstMessageState = (
  sendID: string,
  owner: string,
  version = 0,
): ConversationState => {
  const message = {
    clientMsgID: `${sendID}-1`,
    serverMsgID: '',
    sendID,
    recvID: owner,
    groupID: '',
    sessionType: 1 as const,
    contentType: 101,
    content: 'hi',
    sendTime: 1_700_000_000_000,
    seq: 1,
  };
  const event = {
    type: 'MessageRecorded' as const,
    data: {
      conversationID: singleConversationID(sendID, owner),
      conversationType: 1 as const,
      message,
      atUserIDList: [],
    },
  };
  return { ...(evolve(undefined, event, owner) as ConversationState), version };
};
