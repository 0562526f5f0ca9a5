import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export interface PrivateNats {
  url: string;
  port: number;
  start(): Promise<void>;
  signal(name: NodeJS.Signals): void;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** Kills it and removes its files. */
  remove(): Promise<void>;
}

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/**
 * A nats-server of the test's own on a loopback port (a free one unless `port` is given), with
 * JetStream keeping its files across restarts, so a test can kill and restart it.
 */
export const privateNats = async (options: { port?: number } = {}): Promise<PrivateNats> => {
  const port = options.port ?? (await freePort());
  const storeDir = await mkdtemp(join(tmpdir(), 'private-nats-'));
  let child: ChildProcess | undefined;
  const server: PrivateNats = {
    url: `nats://127.0.0.1:${port}`,
    port,
    async start() {
      const started = spawn(
        NATS_SERVER,
        ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      child = started;
      let output = '';
      await new Promise<void>((resolve, reject) => {
        started.stderr?.on('data', (chunk) => {
          output += String(chunk);
          if (output.includes('Server is ready')) resolve();
        });
        started.once('exit', () => reject(new Error(`nats-server exited:\n${output}`)));
      });
    },
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
export const startPrivateNats = async (options: { port?: number } = {}): Promise<PrivateNats> => {
  const server = await privateNats(options);
  await server.start();
  return server;
};
