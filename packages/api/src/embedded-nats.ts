import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import type { Logger } from '@im/domain';

/** `nats-server` on the PATH (or NATS_SERVER_BIN), if there is one. */
export const findNatsServer = (env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const candidates = env.NATS_SERVER_BIN
    ? [env.NATS_SERVER_BIN]
    : (env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'nats-server'));
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
};

/** 4222, NATS's own port, when it is free on loopback; else any free one. */
const choosePort = async (): Promise<number> => {
  const listen = (port: number) =>
    new Promise<number>((done, fail) => {
      const server = createServer();
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => done(typeof address === 'object' && address ? address.port : port));
      });
    });
  return listen(4222).catch(() => listen(0));
};

const pidFile = (dataDir: string) => join(resolve(dataDir), 'nats.pid');

/**
 * The server an engine killed outright left running (nothing stops it then): stopped before a
 * new one starts on the same files. Only a process that is a nats-server is signalled.
 */
const stopLeftOver = async (dataDir: string) => {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(dataDir), 'utf8').trim());
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nats-server')) return;
  } catch {
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let waited = 0; waited < 5000; waited += 100) {
    await new Promise((done) => setTimeout(done, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
};

export interface EmbeddedNats {
  url: string;
  stop(): Promise<void>;
}

/** Where the embedded server's URL is written, for `pnpm cli request` and `watch` to find it. */
export const embeddedNatsUrlFile = (dataDir: string) => join(resolve(dataDir), 'nats.url');

/**
 * A nats-server of the engine's own, for `pnpm start` without NATS_URL (as PGlite is for the
 * database without DATABASE_URL): JetStream keeps its files in `<DATA_DIR>/nats`, it listens on
 * loopback only, and it stops with the engine.
 */
export const startEmbeddedNats = async (
  binary: string,
  dataDir: string,
  logger: Logger,
): Promise<EmbeddedNats> => {
  const storeDir = join(resolve(dataDir), 'nats');
  mkdirSync(storeDir, { recursive: true });
  await stopLeftOver(dataDir);
  const port = await choosePort();
  // A process group of its own: Ctrl-C on a terminal reaches the engine, which stops the server
  // after itself, instead of the server going first under the engine's feet.
  const child: ChildProcess = spawn(
    binary,
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  writeFileSync(pidFile(dataDir), `${child.pid}\n`);
  let output = '';
  await new Promise<void>((ready, fail) => {
    child.stderr?.on('data', (chunk) => {
      output += String(chunk);
      if (output.includes('Server is ready')) ready();
    });
    child.once('error', fail);
    child.once('exit', (code) =>
      fail(new Error(`nats-server exited (${code}) before it was ready: ${output.slice(-500)}`)),
    );
  });
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  const url = `nats://127.0.0.1:${port}`;
  writeFileSync(embeddedNatsUrlFile(dataDir), `${url}\n`);
  logger.info('NATS_URL is unset: started nats-server with JetStream', {
    url,
    storeDir,
    hint: 'set NATS_URL to use a NATS server of your own',
  });
  return {
    url,
    async stop() {
      rmSync(embeddedNatsUrlFile(dataDir), { force: true });
      rmSync(pidFile(dataDir), { force: true });
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
};
