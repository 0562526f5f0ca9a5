export interface PublisherStats {
  /** `degraded` while NATS is away or the last attempt failed: callbacks wait in the outbox. */
  status: 'ok' | 'degraded';
  connected: boolean;
  published: number;
  failures: number;
  /** Outbox rows not yet published, as of the last attempt. */
  backlog: number;
  lastError: string | undefined;
  lastPublishedAt: number | undefined;
}

/** The publisher's figures, and its status as they make it. */
export const createPublisherStats = () => {
  const stats: PublisherStats = {
    status: 'ok',
    connected: true,
    published: 0,
    failures: 0,
    backlog: 0,
    lastError: undefined,
    lastPublishedAt: undefined,
  };
  let failing = false;
  const refresh = () => {
    stats.status = stats.connected && !failing ? 'ok' : 'degraded';
  };
  return {
    stats,
    failing: () => failing,
    connection(connected: boolean) {
      stats.connected = connected;
      refresh();
    },
    succeeded() {
      failing = false;
      refresh();
    },
    failed(error: unknown) {
      stats.failures += 1;
      stats.lastError = String((error as Error)?.message ?? error);
      failing = true;
      refresh();
    },
  };
};
