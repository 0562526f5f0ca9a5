import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user. */
const asServerUser = (program: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', join(BIN, program), ...args]]
    : [join(BIN, program), args];

const pg = async (program: string, args: string[]) => {
  const [file, argv] = asServerUser(program, args);
  return run(file, argv, { timeout: 60_000 });
};

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  dataDir: string;
  /** Starts the server and waits until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>`: `fast` rolls back and closes sessions, `immediate` aborts like a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops it (immediately) and removes its files. */
  remove(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary folder, trust authentication,
 * a free loopback port), so a test can stop and start it under load without touching the
 * server every other test uses.
 */
export const startPrivatePostgres = async (): Promise<PrivatePostgres> => {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'private-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    await chown(dataDir, Number(stdout), Number(group));
  }
  await pg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dataDir}`,
    '-c fsync=off',
    '-c max_connections=100',
  ].join(' ');
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async start() {
      await pg('pg_ctl', [
        '-D',
        dataDir,
        '-o',
        options,
        '-l',
        join(dataDir, 'server.log'),
        '-w',
        'start',
      ]);
    },
    async stop(mode = 'fast') {
      await pg('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);
    },
    async remove() {
      await server.stop('immediate').catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
};
