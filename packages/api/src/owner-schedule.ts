import type { Cause, Logger, OwnerCommand } from '@im/domain';
import { runOwnerCommand } from './commands/owner-commands.ts';
import type { EngineContext } from './context.ts';

export interface OwnerScheduleOptions {
  /** The partitions this process projects: it acts for their owners only. */
  held: () => readonly number[];
  logger: Logger;
  everyMs: number;
  /** What it does, for the log, and the cause its commands' callbacks carry. */
  what: string;
  cause: Cause;
  /** The engine's own commands that are due now for the owners of `partitions`. */
  due(partitions: readonly number[], now: number): Promise<OwnerCommand[]>;
}

/**
 * Commands the engine gives itself on a schedule (a do-not-disturb's end, self-destructing
 * messages): at once on start and then `everyMs` after each round ends, never two rounds at a
 * time, a failure logged and the next round trying again. Each command is decided on the
 * conversation as it is and appended at the owner stream's version, so two processes during a
 * handover, or a round after a crash, act once.
 */
export const startOwnerSchedule = (context: EngineContext, options: OwnerScheduleOptions) => {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  const work = async () => {
    const partitions = options.held();
    if (partitions.length === 0) return;
    for (const command of await options.due(partitions, context.now())) {
      if (!running) return;
      await runOwnerCommand({ ...context, request: { cause: options.cause } }, command);
    }
  };
  const once = (): Promise<void> =>
    work()
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
