import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Config } from '@im/api';

export const ROOT = resolve(import.meta.dirname, '../..');
const CLI = 'packages/api/src/cli.ts';

/** The engine's configuration as the environment a child process reads it from. */
export const configEnv = (config: Config, overrides: Record<string, string> = {}) => ({
  ...Object.fromEntries(
    Object.entries(config)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, String(value)]),
  ),
  ...overrides,
});

/** `node --import tsx cli.ts …` as it runs from a shell, in one process: a SIGKILL kills it all. */
export const cliCommand = (args: readonly string[]) => [
  process.execPath,
  '--import',
  'tsx',
  CLI,
  ...args,
];

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** JSON log lines the process wrote on stderr. */
  logLines(): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a log line matches, or rejects when the process exits first. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<void>;
}

export const spawnCli = (
  args: readonly string[],
  env: Record<string, string>,
  options: { command?: readonly string[] } = {},
): CliProcess => {
  const [file, ...rest] = options.command ?? cliCommand(args);
  // A process group of its own: stopProcess signals all of it, so that an engine under
  // `pnpm start` (pnpm, a shell, node) never outlives its test as an orphan.
  const child = spawn(file as string, rest, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    err += chunk;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on('exit', (code, signal) => {
      for (const listener of listeners) listener();
      done({ code, signal });
    });
  });
  const logLines = () =>
    err
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logLines,
    exited,
    waitForLog(match, timeoutMs = 60_000) {
      return new Promise((resolvePromise, reject) => {
        const check = () => {
          if (logLines().some(match)) {
            finish();
            resolvePromise();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            finish();
            reject(new Error(`process exited before the log line came:\n${err.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no such log line after ${timeoutMs} ms:\n${err.slice(-2000)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
};

/** Runs a CLI command to its end. */
export const runCli = async (
  args: readonly string[],
  env: Record<string, string>,
  options: { command?: readonly string[] } = {},
) => {
  const cli = spawnCli(args, env, options);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr(), logLines: cli.logLines() };
};

/**
 * An engine in a child process (`cli.ts start`), ready once it logged that it started; killed
 * if it never does, so that no engine outlives the test.
 */
export const startEngineProcess = async (env: Record<string, string>): Promise<CliProcess> => {
  const engine = spawnCli(['start'], { ...env, LOG_LEVEL: 'info' });
  try {
    await engine.waitForLog((line) => line.msg === 'engine started');
  } catch (error) {
    await stopProcess(engine, 'SIGKILL');
    throw error;
  }
  return engine;
};

/** Stops a child: SIGTERM and a wait, or SIGKILL; either way it is gone afterwards. */
export const stopProcess = async (cli: CliProcess, signal: NodeJS.Signals = 'SIGTERM') => {
  const group = (name: NodeJS.Signals) => {
    try {
      process.kill(-(cli.child.pid as number), name);
    } catch {
      // the group is gone
    }
  };
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
    // What it started may still run (pnpm gone, its node not): nothing of it outlives the test.
    group('SIGKILL');
    return cli.exited;
  }
  group(signal);
  const timer = setTimeout(() => group('SIGKILL'), 15_000);
  const exit = await cli.exited;
  clearTimeout(timer);
  if (signal === 'SIGKILL') group('SIGKILL');
  return exit;
};
