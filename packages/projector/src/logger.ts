import { StorageUnavailable } from '@im/eventstore';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const describe = (value: unknown): unknown =>
  value instanceof Error ? { message: value.message, name: value.name, stack: value.stack } : value;

/** JSON lines on stderr, one object per line: what log shippers read. */
export const createLogger = (
  options: {
    level?: LogLevel;
    base?: Record<string, unknown>;
    write?: (line: string) => void;
  } = {},
): Logger => {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const base = options.base ?? {};
  const log =
    (level: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS[level] < threshold) return;
      const entries = Object.entries({ ...base, ...fields }).map(([k, v]) => [k, describe(v)]);
      write(
        JSON.stringify({
          time: new Date().toISOString(),
          level,
          msg,
          ...Object.fromEntries(entries),
        }),
      );
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
};

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
