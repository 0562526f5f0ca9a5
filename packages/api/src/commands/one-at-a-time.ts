import type { EngineContext } from '../context.ts';

type Queue = Map<string, Promise<unknown>>;

/** One queue table per running engine. */
const queues = new WeakMap<EngineContext, Queue>();

/**
 * Runs `task` after every earlier task of this engine on the same stream has settled. Commands
 * that decide on one stream then reach it one at a time instead of colliding on its version:
 * within a process nothing is left to retry, so the optimistic retries only meet the rarer
 * collisions with other engine processes.
 */
export const oneAtATime = async <T>(
  context: EngineContext,
  stream: string,
  task: () => Promise<T>,
): Promise<T> => {
  let queue = queues.get(context);
  if (!queue) {
    queue = new Map();
    queues.set(context, queue);
  }
  const previous = queue.get(stream) ?? Promise.resolve();
  const run = previous.then(task);
  const settled = run.catch(() => undefined);
  queue.set(stream, settled);
  try {
    return await run;
  } finally {
    if (queue.get(stream) === settled) queue.delete(stream);
  }
};
