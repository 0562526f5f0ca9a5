import type { Logger } from '@im/domain';

export interface ProgressFigures {
  done: number;
  total: number;
  elapsedMs: number;
}

const BAR_WIDTH = 28;
const number = new Intl.NumberFormat('en-US');

const perSecond = ({ done, elapsedMs }: ProgressFigures) =>
  elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;

const etaSeconds = (figures: ProgressFigures): number | undefined => {
  const rate = perSecond(figures);
  return rate > 0 ? Math.max(0, figures.total - figures.done) / rate : undefined;
};

const clock = (seconds: number | undefined) => {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hh > 0 ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
};

/** One line of the terminal bar: `[████░░░░] 120,000/200,000 events  60.0%  51,234 ev/s  ETA 0:02`. */
export const renderBar = (label: string, figures: ProgressFigures): string => {
  const fraction = figures.total > 0 ? Math.min(1, figures.done / figures.total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  return `${label} [${bar}] ${number.format(figures.done)}/${number.format(figures.total)} events  ${(
    fraction * 100
  ).toFixed(
    1,
  )}%  ${number.format(Math.round(perSecond(figures)))} ev/s  ETA ${clock(etaSeconds(figures))}`;
};

/** The same figures as a log line's fields. */
export const progressFields = (figures: ProgressFigures) => {
  const eta = etaSeconds(figures);
  return {
    done: figures.done,
    total: figures.total,
    percent: figures.total > 0 ? Math.round((figures.done / figures.total) * 1000) / 10 : 100,
    eventsPerSecond: Math.round(perSecond(figures)),
    etaSeconds: eta === undefined ? null : Math.round(eta),
  };
};

export interface ProgressReporter {
  add(events: number): void;
  /** The total grows while the log does. */
  setTotal(total: number): void;
  figures(): ProgressFigures;
  finish(): void;
}

export interface ProgressOptions {
  label: string;
  /** Where the bar goes: redrawn in place on a terminal, never written elsewhere. */
  output: { isTTY?: boolean; write(text: string): unknown };
  /** Where progress lines go when the output is not a terminal. */
  logger: Logger;
  /** How often a progress line is logged off a terminal. */
  logEveryMs?: number;
  /** How often the bar is redrawn. */
  redrawEveryMs?: number;
  now?: () => number;
}

/** A progress bar on a terminal, and periodic JSON progress lines anywhere else (CI, files). */
export const createProgress = (options: ProgressOptions): ProgressReporter => {
  const now = options.now ?? (() => performance.now());
  const tty = options.output.isTTY === true;
  const interval = tty ? (options.redrawEveryMs ?? 100) : (options.logEveryMs ?? 5000);
  const started = now();
  let done = 0;
  let total = 0;
  let shownAt = Number.NEGATIVE_INFINITY;
  const figures = (): ProgressFigures => ({ done, total, elapsedMs: now() - started });
  const show = () => {
    shownAt = now();
    if (tty) options.output.write(`\r${renderBar(options.label, figures())}\u001b[K`);
    else options.logger.info(`${options.label} progress`, progressFields(figures()));
  };
  return {
    add(events) {
      done += events;
      if (now() - shownAt >= interval) show();
    },
    setTotal(value) {
      total = Math.max(value, done);
    },
    figures,
    finish() {
      total = Math.max(total, done);
      show();
      if (tty) options.output.write('\n');
    },
  };
};
