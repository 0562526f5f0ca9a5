export interface ConcurrentRun {
  succeeded: number;
  failed: number;
  seconds: number;
  perSecond: number;
}

/** Runs `operation(0..count-1)` with `inFlight` at a time; for loading data, not for figures. */
export const runConcurrently = async (
  count: number,
  inFlight: number,
  operation: (index: number) => Promise<boolean>,
): Promise<ConcurrentRun> => {
  const started = performance.now();
  let next = 0;
  let succeeded = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      if (await operation(index).catch(() => false)) succeeded += 1;
      else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { succeeded, failed, seconds, perSecond: count / seconds };
};
