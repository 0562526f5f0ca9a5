import type { Samples } from './percentiles.ts';

export interface ClosedLoopOptions {
  /** Operations kept in flight: each worker starts its next one when the last one answered. */
  inFlight: number;
  warmupMs: number;
  windowMs: number;
  /** One operation; resolves false when the engine answered with an error. */
  operation: (worker: number, sequence: number) => Promise<boolean>;
  /** Receives the latency of every operation that ends inside the window. */
  latencies?: Samples;
}

export interface ClosedLoopResult {
  perSecond: number;
  completed: number;
  failed: number;
}

/** Throughput over a fixed window after a warm-up: operations that complete inside the window. */
export const runClosedLoop = async (options: ClosedLoopOptions): Promise<ClosedLoopResult> => {
  const windowStart = performance.now() + options.warmupMs;
  const windowEnd = windowStart + options.windowMs;
  let completed = 0;
  let failed = 0;
  const worker = async (index: number) => {
    for (let sequence = 0; performance.now() < windowEnd; sequence++) {
      const began = performance.now();
      const succeeded = await options.operation(index, sequence).catch(() => false);
      const ended = performance.now();
      if (ended < windowStart || ended > windowEnd) continue;
      if (!succeeded) {
        failed += 1;
        continue;
      }
      completed += 1;
      options.latencies?.record(ended - began);
    }
  };
  await Promise.all(Array.from({ length: options.inFlight }, (_, index) => worker(index)));
  return { perSecond: completed / (options.windowMs / 1000), completed, failed };
};
