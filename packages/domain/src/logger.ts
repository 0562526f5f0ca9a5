/**
 * What every package logs through. The engine's entry point makes the one that writes (JSON
 * lines on stderr); parts take it in their options, so tests can hand them one that records.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface LogEntry {
  level: Exclude<LogLevel, 'silent'>;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps its entries in `entries` (with its children's), for tests. */
export const recordingLogger = (
  entries: LogEntry[] = [],
  base: Record<string, unknown> = {},
): Logger & { entries: LogEntry[] } => {
  const log =
    (level: LogEntry['level']) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      entries.push({ level, msg, fields: { ...base, ...fields } });
    };
  return {
    entries,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => recordingLogger(entries, { ...base, ...fields }),
  };
};

const nothing = () => {};

/** A logger that says nothing. */
export const silentLogger: Logger = {
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
  child: () => silentLogger,
};
