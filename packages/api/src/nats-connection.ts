import { readFileSync } from 'node:fs';
import { type ConnectionOptions, connect, credsAuthenticator, type NatsConnection } from 'nats';
import type { Config } from './config.ts';

const reconnectBackoff = () => {
  let attempt = 0;
  let lastAt = 0;
  return () => {
    // A reconnect long after the last one is a new outage: start the backoff over.
    if (Date.now() - lastAt > 30_000) attempt = 0;
    lastAt = Date.now();
    attempt += 1;
    return Math.min(250 * 2 ** (attempt - 1), 5000);
  };
};

/** Connects with the configured credentials and TLS, reconnecting without end after a loss. */
export const connectNats = (config: Config, name: string): Promise<NatsConnection> => {
  const options: ConnectionOptions = {
    servers: config.NATS_URL.split(','),
    name,
    maxReconnectAttempts: -1,
    // Backs off from 250 ms to 5 s while the server stays away, with jitter from nats.js.
    reconnectDelayHandler: reconnectBackoff(),
    waitOnFirstConnect: true,
  };
  if (config.NATS_USER) options.user = config.NATS_USER;
  if (config.NATS_PASSWORD) options.pass = config.NATS_PASSWORD;
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
  return connect(options);
};
