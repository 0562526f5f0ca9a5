import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the thread's module: TypeScript through tsx's loader (the engine runs from source),
 * JavaScript as it is. Plain JavaScript itself, as `eval` code needs no loader.
 */
const LAUNCH = `
const { workerData } = require('node:worker_threads');
const { entry, tsx } = workerData.launch;
(entry.endsWith('.ts') ? import(tsx).then((api) => api.tsImport(entry, entry)) : import(entry))
  .catch((error) => { console.error(error); process.exit(1); });
`;

/** tsx's ESM API, where the engine runs from source; none in a build without tsx. */
const tsxApi = () => {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return '';
  }
};

/**
 * The module a thread runs: `source` beside the calling module when it runs from source, the
 * build's `built` (dist/, beside the bundle that holds the caller) when it runs compiled.
 */
export const threadEntry = (caller: string, source: string, built: string) =>
  new URL(caller.endsWith('.ts') ? source : built, caller).href;

/** Runs `entry` (see threadEntry) in a worker thread, with `data` as its workerData. */
export const startThread = (
  entry: string,
  data: object,
  options: Pick<WorkerOptions, 'name' | 'resourceLimits'> = {},
) =>
  new Worker(LAUNCH, {
    ...options,
    eval: true,
    workerData: { ...data, launch: { entry, tsx: tsxApi() } },
    // Not the process's own flags: `--import tsx` would load tsx twice (LAUNCH loads it).
    execArgv: [],
  });
