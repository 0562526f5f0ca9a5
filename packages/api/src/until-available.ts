import type { Logger } from '@im/domain';

export interface Dependency {
  /** What it is: `NATS`, `PostgreSQL`. */
  name: string;
  /** Where it is looked for, without secrets. */
  url: string;
  /** What a newcomer can do about it. */
  hint?: string;
}

/** A URL as it may be logged: without its password. */
export const withoutPassword = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
};

/**
 * Runs `attempt` until it succeeds, every `retryMs`, while `retry(error)` says the error is worth
 * waiting out. Says what it waits for at the first failure, then every `logEveryMs`, and once more
 * when it got through.
 */
export const untilAvailable = async <T>(
  dependency: Dependency,
  attempt: () => Promise<T>,
  logger: Logger,
  options: { retry?: (error: unknown) => boolean; retryMs?: number; logEveryMs?: number } = {},
): Promise<T> => {
  const retryMs = options.retryMs ?? 500;
  const logEveryMs = options.logEveryMs ?? 10_000;
  const started = Date.now();
  let loggedAt: number | undefined;
  for (let attempts = 1; ; attempts++) {
    try {
      const value = await attempt();
      if (loggedAt !== undefined)
        logger.info(`${dependency.name} reached`, {
          url: dependency.url,
          waitedSeconds: Math.round((Date.now() - started) / 100) / 10,
        });
      return value;
    } catch (error) {
      if (options.retry && !options.retry(error)) throw error;
      if (loggedAt === undefined || Date.now() - loggedAt >= logEveryMs) {
        loggedAt = Date.now();
        logger.warn(`waiting for ${dependency.name} at ${dependency.url}`, {
          reason: String((error as Error)?.message ?? error),
          attempts,
          ...(dependency.hint ? { hint: dependency.hint } : {}),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
};
