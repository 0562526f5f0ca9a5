import { comparePositions, type LogPosition, readCheckpoint } from '@im/eventstore';
import { PROJECTED_CHANNEL, PROJECTOR_CHECKPOINT } from '../read-model/names.ts';
import type { EngineDatabase } from '../read-model/schema.ts';

interface Waiter {
  position: LogPosition;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

/**
 * Tells when the projector has passed a position, in any process: it hears the projector's
 * notifications and, while somebody waits, also polls the checkpoint in case one was missed.
 */
export const createProjectionWatcher = async (
  database: EngineDatabase,
  options: { pollMs?: number } = {},
) => {
  const pollMs = options.pollMs ?? 100;
  let latest: LogPosition = (await readCheckpoint(database.db, PROJECTOR_CHECKPOINT)).position;
  const waiters = new Set<Waiter>();
  let poller: NodeJS.Timeout | undefined;

  const advance = (position: LogPosition) => {
    if (comparePositions(position, latest) > 0) latest = position;
    for (const waiter of waiters) {
      if (comparePositions(latest, waiter.position) >= 0) settle(waiter, true);
    }
  };
  const settle = (waiter: Waiter, reached: boolean) => {
    clearTimeout(waiter.timer);
    waiters.delete(waiter);
    if (waiters.size === 0 && poller) {
      clearInterval(poller);
      poller = undefined;
    }
    waiter.resolve(reached);
  };
  const poll = async () => {
    try {
      advance((await readCheckpoint(database.db, PROJECTOR_CHECKPOINT)).position);
    } catch {
      // the next tick tries again; waiters time out meanwhile
    }
  };
  const unlisten = await database.listen(PROJECTED_CHANNEL, (payload) => {
    try {
      advance(JSON.parse(payload) as LogPosition);
    } catch {
      // a malformed payload is ignored: polling still advances
    }
  });

  return {
    advance,
    position: () => latest,
    /** Resolves true once the projector is at or past `position`, false after `timeoutMs`. */
    waitFor(position: LogPosition, timeoutMs: number): Promise<boolean> {
      if (comparePositions(latest, position) >= 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter: Waiter = {
          position,
          resolve,
          timer: setTimeout(() => settle(waiter, false), timeoutMs),
        };
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
