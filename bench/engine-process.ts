import type { ChildProcess } from 'node:child_process';
import type { ApiClient } from './api-client.ts';
import { type EngineEnv, spawnStart } from './cli-process.ts';
import { processRunning, statusKb } from './process-memory.ts';

export interface EngineProcess {
  /** The node process that runs the engine (below pnpm's), whose memory is measured. */
  pid: number;
  peakRssMb(): number;
  stop(): Promise<void>;
}

/** What `pnpm start` runs: the compiled engine. */
const ENGINE = 'dist/engine.mjs';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const kill = (target: ChildProcess | number, signal: NodeJS.Signals) => {
  try {
    if (typeof target === 'number') process.kill(target, signal);
    else target.kill(signal);
  } catch {
    // already gone
  }
};

/** Starts the engine with `pnpm start` and returns once it answers on the NATS API. */
export const startEngineProcess = async (
  env: EngineEnv,
  api: ApiClient,
  extraEnv: Record<string, string> = {},
): Promise<EngineProcess> => {
  const { child, tail, exited } = spawnStart(env, extraEnv);
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const failure = (why: string) =>
    new Error(`engine ${why}; its last output:\n${tail.join('\n') || '(none)'}`);
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (gone) throw failure('exited while starting');
    if (Date.now() > deadline) {
      const stuck = processRunning(child.pid as number, ENGINE);
      if (stuck !== undefined) kill(stuck, 'SIGKILL');
      kill(child, 'SIGKILL');
      throw failure('did not answer within 90 s');
    }
    const reply = await api
      .call('getTotalUnreadMsgCount', { userID: 'bench_ready' }, { timeoutMs: 1000 })
      .catch(() => undefined);
    if (reply?.ok) break;
    await sleep(200);
  }
  const pid = processRunning(child.pid as number, ENGINE);
  if (pid === undefined) throw failure('runs in no process found under pnpm');
  return {
    pid,
    peakRssMb: () => statusKb(pid, 'VmHWM') / 1024,
    async stop() {
      if (gone) return;
      // The engine itself stops on SIGTERM; pnpm and its shell end with it.
      kill(pid, 'SIGTERM');
      const stopped = await Promise.race([exited, sleep(20_000).then(() => undefined)]);
      if (!stopped) {
        kill(pid, 'SIGKILL');
        kill(child, 'SIGKILL');
        await exited;
      }
    },
  };
};
