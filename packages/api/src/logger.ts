import type { Logger, LogLevel } from '@im/domain';
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

/** PostgreSQL's fields on a driver error: what says which constraint, table or line failed. */
const DATABASE_FIELDS = ['code', 'detail', 'hint', 'constraint', 'table', 'column', 'where'];

/** An error as JSON: its message, stack, PostgreSQL's fields, and its cause, likewise. */
const describe = (value: unknown, depth = 0): unknown => {
  if (!(value instanceof Error)) return value;
  const fields = Object.fromEntries(
    DATABASE_FIELDS.filter(
      (field) => (value as unknown as Record<string, unknown>)[field] != null,
    ).map((field) => [field, (value as unknown as Record<string, unknown>)[field]]),
  );
  return {
    name: value.name,
    message: value.message,
    ...fields,
    stack: value.stack,
    ...(value.cause !== undefined && depth < 3 ? { cause: describe(value.cause, depth + 1) } : {}),
  };
};

/** Our Logger over a pino logger: fields first, the message last, as our call sites write them. */
const wrap = (logger: PinoLogger): Logger => ({
  debug: (msg, fields = {}) => logger.debug(fields, msg),
  info: (msg, fields = {}) => logger.info(fields, msg),
  warn: (msg, fields = {}) => logger.warn(fields, msg),
  error: (msg, fields = {}) => logger.error(fields, msg),
  child: (fields) => wrap(logger.child(fields)),
});

/**
 * JSON lines on stderr, one object per line, by pino: `time` (ISO), `level` (its name), `msg`, and
 * the fields, an error's cause and PostgreSQL fields kept (whatever field holds it).
 */
export const createLogger = (
  options: {
    level?: LogLevel;
    base?: Record<string, unknown>;
    write?: (line: string) => void;
  } = {},
): Logger => {
  const write = options.write;
  const destination: DestinationStream = write
    ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) }
    : pino.destination({ fd: 2, sync: true });
  return wrap(
    pino(
      {
        level: options.level ?? 'info',
        base: options.base ?? {},
        timestamp: pino.stdTimeFunctions.isoTime,
        messageKey: 'msg',
        formatters: {
          level: (label) => ({ level: label }),
          log: (object) =>
            Object.fromEntries(
              Object.entries(object).map(([key, value]) => [key, describe(value)]),
            ),
        },
      },
      destination,
    ),
  );
};
