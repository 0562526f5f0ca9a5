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

/** A folder PostgreSQL's user owns, for a cluster's files. */
const serverDir = async (prefix: string) => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout), Number(group));
  }
  return dir;
};

/** The server of the cluster in `dataDir`, on `port`, with `settings` (`name=value`). */
const serverOn = (dataDir: string, port: number, settings: string[]): PrivatePostgres => {
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dataDir}`,
    '-c fsync=off',
    '-c max_connections=100',
    ...settings.map((setting) => `-c ${setting}`),
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
  return server;
};

/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary folder, trust authentication,
 * a free loopback port), so a test can stop and start it under load without touching the
 * server every other test uses.
 */
export const startPrivatePostgres = async (): Promise<PrivatePostgres> => {
  const port = await freePort();
  const dataDir = await serverDir('private-pg-');
  await pg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const server = serverOn(dataDir, port, []);
  await server.start();
  return server;
};

/**
 * A hot standby of `primary`: a base backup (pg_basebackup) into a folder of its own, streaming
 * from the primary and applying each commit `applyDelayMs` after it was made.
 */
export const startPrivateReplica = async (
  primary: PrivatePostgres,
  options: { applyDelayMs?: number } = {},
): Promise<PrivatePostgres> => {
  const port = await freePort();
  const dataDir = await serverDir('private-replica-');
  await pg('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    dataDir,
    '--write-recovery-conf',
    '--wal-method=stream',
    '--checkpoint=fast',
    '--no-sync',
  ]);
  const server = serverOn(dataDir, port, [
    'hot_standby=on',
    `recovery_min_apply_delay=${options.applyDelayMs ?? 0}ms`,
  ]);
  await server.start();
  return server;
};
