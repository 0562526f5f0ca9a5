import { readdirSync, readFileSync } from 'node:fs';

/** A field of /proc/<pid>/status in kB (VmRSS now, VmHWM the peak since the process began). */
export const statusKb = (pid: number, field: 'VmRSS' | 'VmHWM'): number => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
};

const childrenOf = (pid: number): number[] => {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (children) pids.push(...children.split(/\s+/).map(Number));
  }
  return pids;
};

const commandLine = (pid: number) =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

/**
 * The process among `root` and its descendants that runs `script`, deepest first: the engine runs
 * in a node process below pnpm and its shell (or below tsx's CLI, which starts a second node).
 */
export const processRunning = (root: number, script: string): number | undefined => {
  const deeper = childrenOf(root).flatMap((child) => processRunning(child, script) ?? []);
  if (deeper[0] !== undefined) return deeper[0];
  return commandLine(root).includes(script) ? root : undefined;
};
