import { readFileSync } from 'node:fs';
import type { Logger } from '@im/domain';
import { type ConnectionOptions, connect, credsAuthenticator, type NatsConnection } from 'nats';
import type { Config } from './config.ts';
import { untilAvailable, withoutPassword } from './until-available.ts';

/**
 * Between attempts to reach a lost server: short, so that the engine serves again within a second
 * of the server's return. An attempt against a server that is away costs a refused connection,
 * next to nothing; nats.js adds jitter so that many engines do not knock in step.
 */
const RECONNECT_WAIT_MS = 250;

/**
 * The servers of NATS_URL, and the user and password one of them carries: nats.js reads only
 * the host and port of a server URL, so `nats://engine:secret@host` would log in as nobody.
 */
const serversOf = (url: string) => {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url.split(',').map((server) => {
    try {
      const parsed = new URL(server.includes('://') ? server : `nats://${server}`);
      if (!parsed.username) return server;
      user ??= decodeURIComponent(parsed.username);
      pass ??= parsed.password ? decodeURIComponent(parsed.password) : undefined;
      return `${parsed.protocol}//${parsed.host}`;
    } catch {
      return server;
    }
  });
  return { servers, user, pass };
};

export const connectionOptions = (config: Config, name: string): ConnectionOptions => {
  const fromUrl = serversOf(config.NATS_URL);
  const options: ConnectionOptions = {
    servers: fromUrl.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: 100,
  };
  const user = config.NATS_USER ?? fromUrl.user;
  const pass = config.NATS_PASSWORD ?? fromUrl.pass;
  if (user) options.user = user;
  if (pass) options.pass = pass;
  if (config.NATS_TOKEN) options.token = config.NATS_TOKEN;
  if (config.NATS_CREDS)
    options.authenticator = credsAuthenticator(readFileSync(config.NATS_CREDS));
  if (config.NATS_TLS_CA || config.NATS_TLS_CERT) {
    options.tls = {
      ...(config.NATS_TLS_CA ? { caFile: config.NATS_TLS_CA } : {}),
      ...(config.NATS_TLS_CERT ? { certFile: config.NATS_TLS_CERT } : {}),
      ...(config.NATS_TLS_KEY ? { keyFile: config.NATS_TLS_KEY } : {}),
    };
  }
  return options;
};

/**
 * Connects with the configured credentials and TLS, and reconnects without end after a loss. Until
 * the first connection, it says which servers it tries (at once, then every 10 s) and retries.
 */
export const connectNats = (
  config: Config,
  name: string,
  logger: Logger,
): Promise<NatsConnection> =>
  untilAvailable(
    {
      name: 'NATS',
      url: config.NATS_URL.split(',').map(withoutPassword).join(','),
      hint: 'start a server with JetStream (nats-server -js) or set NATS_URL',
    },
    () => connect(connectionOptions(config, name)),
    logger,
  );
