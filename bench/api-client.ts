import { connect, type NatsConnection } from 'nats';

export interface ApiReply {
  /** Nats-Service-Error-Code when the engine answered with an error. */
  code: number | undefined;
  error: string | undefined;
  body: any;
}

export interface ApiClient {
  nc: NatsConnection;
  request(method: string, body: unknown, timeoutMs?: number): Promise<ApiReply>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A caller of the engine's NATS API, as a gateway or the message service would be. */
export const connectApi = async (natsUrl: string, subjectPrefix: string): Promise<ApiClient> => {
  const nc = await connect({ servers: natsUrl, name: 'bench client' });
  return {
    nc,
    async request(method, body, timeoutMs = 30_000) {
      const msg = await nc.request(
        `${subjectPrefix}.${method}`,
        encoder.encode(JSON.stringify(body)),
        { timeout: timeoutMs },
      );
      const code = msg.headers?.get('Nats-Service-Error-Code');
      return {
        code: code ? Number(code) : undefined,
        error: msg.headers?.get('Nats-Service-Error') || undefined,
        body: JSON.parse(decoder.decode(msg.data)),
      };
    },
    close: () => nc.close(),
  };
};

/** The request body of a single-chat text message. */
export const singleMessage = (clientMsgID: string, sendID: string, recvID: string) => ({
  clientMsgID,
  sendID,
  recvID,
  sessionType: 1,
  contentType: 101,
  content: 'hello',
  sendTime: Date.now(),
});
