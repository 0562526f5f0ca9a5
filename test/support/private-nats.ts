import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { freePort } from './free-port.ts';

export interface PrivateNats {
  url: string;
  port: number;
  start(): Promise<void>;
  /** What the server wrote on stderr so far (its log), across restarts. */
  log(): string;
  signal(name: NodeJS.Signals): void;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** Kills it and removes its files. */
  remove(): Promise<void>;
}

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface PrivateNatsOptions {
  port?: number;
  extraArgs?: string[];
  /** A configuration file (`-c`); the address, port and JetStream flags still override it. */
  config?: string;
  /** Variables the configuration reads (passwords), beside this process's environment. */
  env?: Record<string, string>;
}

/**
 * A nats-server of the test's own on a loopback port (a free one unless `port` is given), with
 * JetStream keeping its files across restarts, so a test can kill and restart it.
 */
export const privateNats = async (options: PrivateNatsOptions = {}): Promise<PrivateNats> => {
  const port = options.port ?? (await freePort());
  const storeDir = await mkdtemp(join(tmpdir(), 'private-nats-'));
  let child: ChildProcess | undefined;
  let log = '';
  const server: PrivateNats = {
    url: `nats://127.0.0.1:${port}`,
    port,
    async start() {
      const started = spawn(
        NATS_SERVER,
        [
          ...(options.config ? ['-c', options.config] : []),
          '-a',
          '127.0.0.1',
          '-p',
          String(port),
          '-js',
          '-sd',
          storeDir,
          ...(options.extraArgs ?? []),
        ],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
          ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
        },
      );
      child = started;
      let output = '';
      await new Promise<void>((resolve, reject) => {
        started.stderr?.on('data', (chunk) => {
          output += String(chunk);
          log += String(chunk);
          if (output.includes('Server is ready')) resolve();
        });
        started.once('exit', () => reject(new Error(`nats-server exited:\n${output}`)));
      });
    },
    log: () => log,
    signal(name) {
      child?.kill(name);
    },
    async kill() {
      const running = child;
      child = undefined;
      if (running && running.exitCode === null && running.signalCode === null) {
        running.kill('SIGKILL');
        await once(running, 'exit');
      }
    },
    async remove() {
      await server.kill();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
  return server;
};

/** A private nats-server, started. */
export const startPrivateNats = async (options: PrivateNatsOptions = {}): Promise<PrivateNats> => {
  const server = await privateNats(options);
  await server.start();
  return server;
};

export interface PrivateNatsCluster {
  nodes: PrivateNats[];
  /** The node whose server name is `name` (as stream info names its leader). */
  named(name: string): PrivateNats | undefined;
  /** Every node's client URL, comma separated, as NATS_URL takes them. */
  urls: string;
  remove(): Promise<void>;
}

/**
 * A JetStream cluster of the test's own: `size` nats-servers on loopback ports, each routed to
 * all the others, keeping their files across restarts so a killed node can come back.
 */
export const startPrivateNatsCluster = async (size = 3): Promise<PrivateNatsCluster> => {
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
  const name = `private-${process.pid}-${routePorts[0]}`;
  const nodes = await Promise.all(
    routePorts.map((routePort, i) =>
      privateNats({
        extraArgs: [
          '--server_name',
          `${name}-n${i}`,
          '--cluster_name',
          name,
          '--cluster',
          `nats://127.0.0.1:${routePort}`,
          '--routes',
          routes,
        ],
      }),
    ),
  );
  const cluster: PrivateNatsCluster = {
    nodes,
    named: (serverName) => nodes[Number(serverName.slice(`${name}-n`.length))],
    urls: nodes.map((node) => node.url).join(','),
    async remove() {
      await Promise.all(nodes.map((node) => node.remove()));
    },
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
    // Ready servers may still be electing JetStream's meta leader: wait until it answers.
    const nc = await connect({ servers: cluster.urls.split(',') });
    try {
      const deadline = Date.now() + 30_000;
      const answers = () =>
        nc
          .jetstreamManager({ timeout: 1000 })
          .then((jsm) => jsm.getAccountInfo())
          .then(() => true)
          .catch(() => false);
      while (!(await answers())) {
        if (Date.now() > deadline)
          throw new Error('the JetStream cluster elected no leader in 30 s');
        await new Promise((done) => setTimeout(done, 200));
      }
    } finally {
      await nc.close();
    }
  } catch (error) {
    await cluster.remove();
    throw error;
  }
  return cluster;
};
