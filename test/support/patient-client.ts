/** Callers that live through an engine or a NATS server going away, as gateways and services do. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '@im/api';
import { connect } from 'nats';

/** An API client that waits out an engine or a NATS server that is away, as a caller would. */
export const patientClient = async (config: Config) => {
  const nc = await gatewayConnection(config.NATS_URL);
  const encoder = new TextEncoder();
  return {
    nc,
    async request(method: string, body: unknown): Promise<any> {
      const deadline = Date.now() + 120_000;
      for (;;) {
        try {
          const reply = await nc.request(
            `${config.SUBJECT_PREFIX}.${method}`,
            encoder.encode(JSON.stringify(body)),
            { timeout: 3000 },
          );
          const code = reply.headers?.get('Nats-Service-Error-Code');
          if (code) throw new Error(`${method} answered ${code}: ${reply.string()}`);
          return reply.json();
        } catch (error) {
          // No responder or no answer: the engine or NATS is away. Commands are idempotent.
          if (String(error).includes('answered') || Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
    },
    close: () => nc.close(),
  };
};

/** A caller's connection (a gateway's, a service's): it redials for ever, soon after a server is back. */
export const gatewayConnection = (servers: string | string[]) =>
  connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 });

/** Whether the engine answers a request from a new client now. */
export const answers = async (config: Config): Promise<boolean> => {
  const nc = await connect({ servers: config.NATS_URL }).catch(() => undefined);
  if (!nc) return false;
  try {
    const reply = await nc.request(
      `${config.SUBJECT_PREFIX}.getTotalUnreadMsgCount`,
      new TextEncoder().encode('{"userID":"probe"}'),
      { timeout: 200 },
    );
    return !reply.headers?.get('Nats-Service-Error-Code');
  } catch {
    return false;
  } finally {
    await nc.close();
  }
};
