/**
 * Runs tasks of one stream one after another, within this engine: commands that decide on a
 * stream then reach it one at a time instead of colliding on its version, so the optimistic
 * retries only meet the rarer collisions with other engine processes.
 */
export interface OneAtATime {
  run<T>(stream: string, task: () => Promise<T>): Promise<T>;
}

export const createOneAtATime = (): OneAtATime => {
  const queues = new Map<string, Promise<unknown>>();
  return {
    async run(stream, task) {
      const previous = queues.get(stream) ?? Promise.resolve();
      const run = previous.then(task);
      const settled = run.catch(() => undefined);
      queues.set(stream, settled);
      try {
        return await run;
      } finally {
        if (queues.get(stream) === settled) queues.delete(stream);
      }
    },
  };
};
