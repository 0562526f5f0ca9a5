import type { Logger } from '@im/domain';
import { type Checkpoint, readCheckpoints } from '@im/eventstore';
import { quietWhileAway } from '../quiet-while-away.ts';
import { projectorCheckpoint } from '../read-model/names.ts';
import type { Db } from '../read-model/schema.ts';
import { partitionLags } from './lag.ts';

/** A projector's figures between reports, for `$SRV.STATS` and the logs. */
export interface ReportFigures {
  /** Events committed but not yet projected, and the oldest one's age. */
  lagEvents: number | undefined;
  lagSeconds: number | undefined;
  /** Of the lag, events that wait for an older append still running. */
  withheldEvents: number | undefined;
  /** The running append that holds the projector back, if one does. */
  heldBackBy: { pid: number; database: string; runningSeconds: number } | undefined;
  /** Events projected per second since the report before. */
  eventsPerSecond: number | undefined;
  /** Each partition this process projects, with its own lag. */
  partitions: PartitionLag[];
}

export interface PartitionLag {
  id: number;
  lagEvents: number;
  lagSeconds: number;
}

/** Short appends hold events back for moments all the time; one running this long is news. */
const HELD_BACK_NOTICE_SECONDS = 5;

export interface ProjectionReportOptions {
  db: Db;
  logger: Logger;
  /** The partitions whose lag the report measures: those this process projects. */
  partitions(): readonly number[];
  everyMs: number;
  /** How many events this process projected so far. */
  projected(): number;
}

/**
 * Measures the lag and throughput every `everyMs` for the stats, and logs them while there is
 * something to say: progress, or a long append that holds the projector back.
 */
export const createProjectionReport = (options: ProjectionReportOptions) => {
  const { db, logger } = options;
  const figures: ReportFigures = {
    lagEvents: undefined,
    lagSeconds: undefined,
    withheldEvents: undefined,
    heldBackBy: undefined,
    eventsPerSecond: undefined,
    partitions: [],
  };
  let reported = { at: performance.now(), events: 0 };
  let timer: NodeJS.Timeout | undefined;

  const report = async () => {
    try {
      const partitions = options.partitions();
      const checkpoints = await readCheckpoints(db, partitions.map(projectorCheckpoint));
      const at = partitions.map((id) => checkpoints.get(projectorCheckpoint(id)) as Checkpoint);
      const { lags, withheld, heldBackBy } = await partitionLags(
        db,
        at.map((checkpoint) => checkpoint.position),
      );
      figures.partitions = partitions.map((id, i) => ({
        id,
        lagEvents: lags[i]?.events ?? 0,
        lagSeconds: Math.round((lags[i]?.seconds ?? 0) * 10) / 10,
      }));
      // The partition furthest behind speaks for the process.
      const worst = lags.reduce((w, lag, i) => (lag.events > (lags[w]?.events ?? -1) ? i : w), 0);
      const checkpoint = at[worst];
      if (!checkpoint) return;
      const lag = { ...(lags[worst] ?? { events: 0, seconds: 0 }), withheld, heldBackBy };
      const now = performance.now();
      const projected = options.projected() - reported.events;
      figures.eventsPerSecond = Math.round((projected * 1000) / Math.max(1, now - reported.at));
      reported = { at: now, events: options.projected() };
      figures.lagEvents = lag.events;
      figures.lagSeconds = Math.round(lag.seconds * 10) / 10;
      figures.withheldEvents = lag.withheld;
      figures.heldBackBy = lag.heldBackBy && {
        pid: lag.heldBackBy.pid,
        database: lag.heldBackBy.database,
        runningSeconds: lag.heldBackBy.runningSeconds,
      };
      if (projected === 0 && lag.events === 0) return;
      const fields = { handled: checkpoint.handled, ...figures, heldBackBy: undefined };
      if (lag.heldBackBy && lag.heldBackBy.runningSeconds >= HELD_BACK_NOTICE_SECONDS) {
        logger.warn('projector held back by a long-running append', {
          ...fields,
          transaction: lag.heldBackBy,
        });
      } else {
        logger.info('projector progress', fields);
      }
    } catch (error) {
      quietWhileAway(logger, 'warn', 'projection lag could not be measured', error);
    }
  };

  return {
    figures: (): ReportFigures => ({ ...figures }),
    start() {
      timer = setInterval(report, options.everyMs);
      void report();
    },
    stop() {
      clearInterval(timer);
    },
  };
};
