import type { Logger, LogLevel } from '@im/domain';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

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
