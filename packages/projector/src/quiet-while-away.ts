import type { Logger } from '@im/domain';
import { StorageUnavailable } from '@im/eventstore';

/**
 * Logs a failure, or only at debug level when it is PostgreSQL's absence: the outage log says
 * that once, and a loop retrying through it would say it again on every turn.
 */
export const quietWhileAway = (
  logger: Logger,
  level: 'warn' | 'error',
  msg: string,
  error: unknown,
): void => {
  if (error instanceof StorageUnavailable) logger.debug(msg, { reason: error.message });
  else logger[level](msg, { error });
};
