import type { LogPosition } from '@im/eventstore';
import type { ReadModelTables } from '../projection/rows.ts';
import { startThread, threadEntry } from '../worker-thread.ts';
import type { LivePositions } from './pending-changes.ts';
import type { BuiltElsewhere } from './replay.ts';

/** What one thread replays: its partitions of the log up to `upTo`, into `tables`. */
export interface ThreadTask {
  url: string;
  tables: ReadModelTables;
  partitions: number;
  only: readonly number[];
  upTo: LogPosition;
  live: { count: number; positions: ReadonlyMap<number, LogPosition> };
  batchSize: number;
  cacheRows: number;
}

export type ThreadReport =
  | { type: 'events'; events: number }
  | ({ type: 'built' } & BuiltElsewhere)
  | { type: 'failed'; error: string };

const ENTRY = threadEntry(import.meta.url, './replay-thread.ts', './replay-thread.mjs');

/** Partitions dealt round-robin to `threads` shares (none empty). */
export const shares = (partitions: number, threads: number): number[][] => {
  const count = Math.max(1, Math.min(threads, partitions));
  return Array.from({ length: count }, (_, share) =>
    Array.from({ length: partitions }, (_, p) => p).filter((p) => p % count === share),
  );
};

/**
 * Folds the log up to `upTo` into `tables` in `threads` worker threads, each for its share of the
 * partitions: each reads the whole log on a connection of its own but evolves and writes only its
 * owners' rows, so the fold, the rows and their writes are split over the cores. Progress counts
 * the first thread's events (each reads every event). Rejects, and stops every thread, on the
 * first failure or when `onEvents` throws (an abort).
 */
export const buildInThreads = (
  task: Omit<ThreadTask, 'only' | 'upTo' | 'live'> & { threads: number },
  upTo: LogPosition,
  live: LivePositions,
  onEvents: (events: number) => void,
): Promise<BuiltElsewhere> => {
  const { threads, ...common } = task;
  const workers = shares(task.partitions, threads).map((only) =>
    startThread(
      ENTRY,
      { ...common, only, upTo, live: { count: live.count, positions: live.positions } },
      { name: `replay ${only.join(',')}` },
    ),
  );
  return new Promise<BuiltElsewhere>((resolve, reject) => {
    const built: BuiltElsewhere[] = [];
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      for (const worker of workers) void worker.terminate();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    workers.forEach((worker, index) => {
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!built[index]) fail(new Error(`a replay thread exited (${code}) before it was done`));
      });
      worker.on('message', (message: ThreadReport) => {
        if (message.type === 'failed') return fail(new Error(message.error));
        if (message.type === 'events') {
          if (index !== 0) return;
          try {
            onEvents(message.events);
          } catch (error) {
            fail(error);
          }
          return;
        }
        built[index] = message;
        if (built.filter(Boolean).length < workers.length || failed) return;
        const [first] = built as [BuiltElsewhere];
        resolve({
          position: first.position,
          handled: first.handled,
          unprojected: {
            rows: built.flatMap((share) => share.unprojected.rows),
            // A group message's fan-outs in partition order, as one thread would have them.
            fanouts: built
              .flatMap((share) => share.unprojected.fanouts)
              .sort(
                (a, b) =>
                  a.fanout.version - b.fanout.version || a.fanout.partition - b.fanout.partition,
              ),
          },
        });
      });
    });
  });
};
