import { allPartitions } from '@im/domain';
import { comparePositions, type LogPosition, readCheckpoints } from '@im/eventstore';
import { PROJECTED_CHANNEL, projectorCheckpoint } from '../read-model/names.ts';
import type { EngineDatabase } from '../read-model/schema.ts';

interface Waiter {
  position: LogPosition;
  partitions: readonly number[];
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

/** Whether every partition the waiter waits for is at or past its position. */
const hasReached = (latest: ReadonlyMap<number, LogPosition>, waiter: Waiter) =>
  waiter.partitions.every((p) => {
    const at = latest.get(p);
    return at !== undefined && comparePositions(at, waiter.position) >= 0;
  });

/** Hands a projector's notice (`{partitions, position}`) to `advance`. */
const projectedNotice =
  (advance: (partitions: readonly number[], position: LogPosition) => void) =>
  (payload: string) => {
    try {
      const { partitions, position } = JSON.parse(payload) as {
        partitions: number[];
        position: LogPosition;
      };
      advance(partitions, position);
    } catch {
      // a malformed payload is ignored: polling still advances
    }
  };

/**
 * Tells when the partitions' projectors have passed a position, in any process: it hears their
 * notifications and, while somebody waits, also polls their checkpoints in case one was missed.
 */
export const createProjectionWatcher = async (
  database: EngineDatabase,
  options: { partitions: number; pollMs?: number },
) => {
  const pollMs = options.pollMs ?? 100;
  const every = allPartitions(options.partitions);
  const names = every.map(projectorCheckpoint);
  const latest = new Map<number, LogPosition>();
  const waiters = new Set<Waiter>();
  let poller: NodeJS.Timeout | undefined;

  const reached = (waiter: Waiter) => hasReached(latest, waiter);
  const advance = (partitions: readonly number[], position: LogPosition) => {
    for (const p of partitions) {
      const at = latest.get(p);
      if (!at || comparePositions(position, at) > 0) latest.set(p, position);
    }
    for (const waiter of waiters) if (reached(waiter)) settle(waiter, true);
  };
  const settle = (waiter: Waiter, done: boolean) => {
    clearTimeout(waiter.timer);
    waiters.delete(waiter);
    if (waiters.size === 0 && poller) {
      clearInterval(poller);
      poller = undefined;
    }
    waiter.resolve(done);
  };
  const read = async () => {
    const checkpoints = await readCheckpoints(database.db, names);
    for (const p of every)
      advance([p], (checkpoints.get(projectorCheckpoint(p)) as { position: LogPosition }).position);
  };
  const poll = async () => {
    try {
      await read();
    } catch {
      // the next tick tries again; waiters time out meanwhile
    }
  };
  await read();
  const unlisten = await database.listen(PROJECTED_CHANNEL, projectedNotice(advance));

  return {
    advance,
    /** Where each partition's projector stands, as last heard. */
    position: (partition: number) => latest.get(partition),
    /**
     * Resolves true once every one of `partitions` is at or past `position` (all of them for
     * 'all'), false after `timeoutMs`.
     */
    waitFor(
      position: LogPosition,
      partitions: readonly number[] | 'all',
      timeoutMs: number,
    ): Promise<boolean> {
      const waiter = {
        position,
        partitions: partitions === 'all' ? every : partitions,
      } as Waiter;
      if (reached(waiter)) return Promise.resolve(true);
      return new Promise((resolve) => {
        waiter.resolve = resolve;
        waiter.timer = setTimeout(() => settle(waiter, false), timeoutMs);
        waiters.add(waiter);
        poller ??= setInterval(poll, pollMs);
      });
    },
    async close() {
      for (const waiter of waiters) settle(waiter, false);
      await unlisten();
    },
  };
};

export type ProjectionWatcher = Awaited<ReturnType<typeof createProjectionWatcher>>;
