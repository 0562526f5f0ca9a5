import { allPartitions, partitionOf } from '@im/domain';
import { comparePositions, LOG_START, type LogPosition } from '@im/eventstore';

/**
 * What one projection applies: of the database's `count` partitions, the ones it holds, each from
 * where its rows stand (and, for a replay that stops partitions at given places, up to there). An
 * event applies to an owner when the owner's partition is held and the event is past that
 * partition's position; a partition that is further on skips what it has.
 */
export interface PartitionScope {
  count: number;
  /** The partitions held, in ascending order. */
  partitions: readonly number[];
  partitionOf(owner: string): number;
  /** Whether the event at `position` is new to the partition. */
  takes(partition: number, position: LogPosition): boolean;
  /** Whether the event at `position` is new to the owner's partition. */
  owns(owner: string, position: LogPosition): boolean;
  /** Where a read of the log starts: the held partition furthest behind. */
  start(): LogPosition;
  /** Each held partition's position after a batch that read up to `last`. */
  after(last: LogPosition): Map<number, LogPosition>;
}

export const createScope = (
  count: number,
  from: ReadonlyMap<number, LogPosition>,
  until?: ReadonlyMap<number, LogPosition>,
): PartitionScope => {
  const partitions = [...from.keys()].sort((a, b) => a - b);
  const takes = (partition: number, position: LogPosition) => {
    const at = from.get(partition);
    if (at === undefined || comparePositions(position, at) <= 0) return false;
    const end = until?.get(partition);
    return end === undefined || comparePositions(position, end) <= 0;
  };
  return {
    count,
    partitions,
    partitionOf: (owner) => partitionOf(owner, count),
    takes,
    owns: (owner, position) => takes(partitionOf(owner, count), position),
    start: () =>
      [...from.values()].reduce(
        (earliest, position) => (comparePositions(position, earliest) < 0 ? position : earliest),
        [...from.values()][0] ?? LOG_START,
      ),
    after: (last) =>
      new Map(
        partitions.map((p) => {
          const at = from.get(p) as LogPosition;
          return [p, comparePositions(at, last) > 0 ? at : last];
        }),
      ),
  };
};

/**
 * Every partition (or `only` those) from the log's start, each up to its place in `until` if it
 * has one: a replay of the read model.
 */
export const wholeLog = (
  count: number,
  options: { only?: number | readonly number[]; until?: ReadonlyMap<number, LogPosition> } = {},
): PartitionScope => {
  const { only } = options;
  const held = only === undefined ? allPartitions(count) : typeof only === 'number' ? [only] : only;
  return createScope(count, new Map(held.map((p) => [p, LOG_START])), options.until);
};
