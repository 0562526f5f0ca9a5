import type { Logger } from '@im/domain';

/**
 * Runs `work` at once and then `everyMs` after each run ends (never two at a time), logging a
 * failure and going on; `stop` waits for a run under way.
 */
export const startPeriodic = (
  work: (running: () => boolean) => Promise<void>,
  options: { everyMs: number; logger: Logger; what: string },
) => {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const once = (): Promise<void> =>
    work(() => running)
      .catch((error) => options.logger.warn(`${options.what} failed`, { error }))
      .finally(() => {
        if (!running) return;
        timer = setTimeout(() => {
          round = once();
        }, options.everyMs);
      });
  let round = once();
  return {
    async stop() {
      running = false;
      clearTimeout(timer);
      await round;
    },
  };
};
