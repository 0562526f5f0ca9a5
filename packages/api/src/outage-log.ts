import type { Logger } from '@im/domain';
import type { StorageHealth } from '@im/eventstore';

/**
 * One log line when PostgreSQL goes away, one when it is back with how long it was gone and how
 * many requests were answered 503 meanwhile: an outage under load is two lines, not a stack per
 * request.
 */
export const createOutageLog = (health: StorageHealth, logger: Logger) => {
  let failed = 0;
  let downAt = 0;
  health.onChange((available, cause) => {
    if (!available) {
      failed = 0;
      downAt = Date.now();
      logger.warn('PostgreSQL unavailable; requests answer 503 until it is back', {
        reason: String((cause as Error)?.message ?? cause),
      });
      return;
    }
    logger.info('PostgreSQL is back', {
      downSeconds: Math.round((Date.now() - downAt) / 100) / 10,
      failedRequests: failed,
    });
    failed = 0;
  });
  return {
    /** A request answered 503 because PostgreSQL was unavailable. */
    requestFailed() {
      failed += 1;
    },
  };
};

export type OutageLog = ReturnType<typeof createOutageLog>;
