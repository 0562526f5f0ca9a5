import { type ConversationClient, createConversationClient } from '@im/client';
import type { RequestOf } from '@im/domain';
import { connect, type NatsConnection } from 'nats';

export interface ApiClient {
  nc: NatsConnection;
  /** The typed client's call: the reply, or the engine's error, as an outcome. */
  call: ConversationClient['call'];
  close(): Promise<void>;
}

/** A caller of the engine's NATS API, as a gateway or the message service would be. */
export const connectApi = async (natsUrl: string, subjectPrefix: string): Promise<ApiClient> => {
  const nc = await connect({ servers: natsUrl, name: 'bench client' });
  const client = createConversationClient(nc, { subjectPrefix, timeoutMs: 30_000 });
  return { nc, call: client.call, close: () => nc.close() };
};

/** The request body of a single-chat text message. */
export const singleMessage = (
  clientMsgID: string,
  sendID: string,
  recvID: string,
): RequestOf<'recordMessage'> => ({
  clientMsgID,
  sendID,
  recvID,
  sessionType: 1,
  contentType: 101,
  content: 'hello',
  sendTime: Date.now(),
});
