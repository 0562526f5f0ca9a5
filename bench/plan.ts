/** How much each measurement does: a full run fits 10 minutes on 2 cores, `--quick` fits 2. */
export interface Plan {
  quick: boolean;
  /** Closed-loop throughput: warm-up, then the counted window. */
  warmupMs: number;
  windowMs: number;
  /** Requests in flight for the throughput figures (issue 6: 32). */
  inFlight: number;
  /** Requests in flight while loading data sets through the API. */
  loadInFlight: number;
  /** Sequential requests for a latency figure, after `latencyWarmup` unmeasured ones. */
  latencySamples: number;
  latencyWarmup: number;
  callbackPerSecond: number;
  callbackWarmupMs: number;
  callbackWindowMs: number;
  /** Conversations of the owner whose first page is timed against a 100-conversation owner. */
  bigOwnerConversations: number;
  groupMembers: number;
  /** Group messages timed after an unmeasured first one, into 10,000 members and into 2. */
  groupMessages: number;
  rebuildEvents: number;
  /** The paced mixed load, on a fresh database and on the one grown by the rebuild's events. */
  mixedPerSecond: number;
  /** The backlog projected with one projection thread and with one per core. */
  projectionEvents: number;
  mixedWarmupMs: number;
  mixedWindowMs: number;
}

export const planFor = (quick: boolean): Plan =>
  quick
    ? {
        quick,
        warmupMs: 1000,
        windowMs: 3000,
        inFlight: 32,
        loadInFlight: 512,
        latencySamples: 100,
        latencyWarmup: 10,
        callbackPerSecond: 1000,
        callbackWarmupMs: 500,
        callbackWindowMs: 1500,
        bigOwnerConversations: 5000,
        groupMembers: 10_000,
        groupMessages: 9,
        rebuildEvents: 100_000,
        mixedPerSecond: 300,
        projectionEvents: 50_000,
        mixedWarmupMs: 2000,
        mixedWindowMs: 8000,
      }
    : {
        quick,
        warmupMs: 3000,
        windowMs: 10_000,
        inFlight: 32,
        loadInFlight: 512,
        latencySamples: 400,
        latencyWarmup: 40,
        callbackPerSecond: 1000,
        callbackWarmupMs: 2000,
        callbackWindowMs: 10_000,
        bigOwnerConversations: 100_000,
        groupMembers: 10_000,
        groupMessages: 29,
        rebuildEvents: 1_000_000,
        mixedPerSecond: 300,
        projectionEvents: 200_000,
        mixedWarmupMs: 5000,
        mixedWindowMs: 30_000,
      };
