import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');
export const CLI = 'packages/api/src/cli.ts';

export interface EngineEnv {
  DATABASE_URL: string;
  NATS_URL: string;
  SUBJECT_PREFIX: string;
  STREAM_NAME: string;
}

const spawnKeepingTail = (
  command: string,
  args: string[],
  env: EngineEnv,
  extraEnv: Record<string, string>,
) => {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', keep);
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', keep);
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, tail, exited };
};

/** Runs the CLI through tsx, as `pnpm cli` does, keeping the last lines it printed. */
export const spawnCli = (args: string[], env: EngineEnv, extraEnv: Record<string, string> = {}) =>
  spawnKeepingTail(TSX, [CLI, ...args], env, extraEnv);

/** Runs `pnpm start`, as a deployment does (README, Dockerfile), keeping the last lines it printed. */
export const spawnStart = (env: EngineEnv, extraEnv: Record<string, string> = {}) =>
  spawnKeepingTail('pnpm', ['--silent', 'start'], env, extraEnv);
