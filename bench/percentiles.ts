/**
 * Latency samples and their exact percentiles (nearest rank over the sorted samples): the runs
 * hold at most a few tens of thousands of samples, so keeping them all is cheaper than a histogram
 * and has no bucket error.
 */
export interface Samples {
  record(value: number): void;
  count(): number;
  /** The smallest sample that at least `p` percent of the samples do not exceed. */
  percentile(p: number): number;
  max(): number;
}

export const createSamples = (): Samples => {
  const values: number[] = [];
  let sorted = true;
  const ordered = () => {
    if (!sorted) {
      values.sort((a, b) => a - b);
      sorted = true;
    }
    return values;
  };
  return {
    record(value) {
      if (values.length > 0 && value < (values.at(-1) as number)) sorted = false;
      values.push(value);
    },
    count: () => values.length,
    percentile(p) {
      const all = ordered();
      if (all.length === 0) return Number.NaN;
      const rank = Math.ceil((p / 100) * all.length);
      return all[Math.min(all.length, Math.max(1, rank)) - 1] as number;
    },
    max: () => (values.length === 0 ? Number.NaN : (ordered().at(-1) as number)),
  };
};
