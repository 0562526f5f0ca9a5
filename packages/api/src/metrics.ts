import { createServer, type Server } from 'node:http';
import type { Logger } from '@im/domain';
import type { ProjectorStats, PublisherStats } from '@im/projector';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the engine's figures give on a scrape: the projection's, and the list cache's. */
export interface MetricsSources {
  projection(): { projector: ProjectorStats; publisher: PublisherStats };
  listCache(): { hits: number; misses: number; bytes: number };
}

/** Gauges read from the engine's own figures when scraped: name, help and value. */
const SCRAPED: ReadonlyArray<[string, string, (sources: MetricsSources) => number]> = [
  [
    'im_engine_projection_events_per_second',
    'Events this process projected per second, lately',
    (sources) => sources.projection().projector.eventsPerSecond ?? 0,
  ],
  [
    'im_engine_projection_events_total',
    'Events this process projected since it started',
    (sources) => sources.projection().projector.eventsProjected,
  ],
  [
    'im_engine_publisher_backlog',
    'Callbacks in the outbox not published yet',
    (sources) => sources.projection().publisher.backlog,
  ],
  [
    'im_engine_publisher_connected',
    '1 while the callback publisher is connected to NATS',
    (sources) => (sources.projection().publisher.connected ? 1 : 0),
  ],
  [
    'im_engine_list_cache_hits_total',
    'Whole lists answered from the cache',
    (sources) => sources.listCache().hits,
  ],
  [
    'im_engine_list_cache_misses_total',
    'Whole lists read from the database',
    (sources) => sources.listCache().misses,
  ],
  [
    'im_engine_list_cache_bytes',
    'Bytes of whole lists cached',
    (sources) => sources.listCache().bytes,
  ],
];

/**
 * The engine's Prometheus metrics (prom-client): each request by method and outcome, with its
 * latency; the projection's lag and throughput per partition, the publisher's backlog, and the
 * list cache, read from the engine's own figures when scraped; Node's process metrics.
 */
export const createMetrics = (sources: MetricsSources) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'im_engine_' });
  const requests = new Counter({
    name: 'im_engine_requests_total',
    help: 'Requests answered, by method and code (200 for success, else the error code)',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'im_engine_request_duration_seconds',
    help: 'Time from a request’s arrival to its answer, by method',
    labelNames: ['method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const lagEvents = new Gauge({
    name: 'im_engine_projection_lag_events',
    help: 'Events committed but not projected yet, by partition this process projects',
    labelNames: ['partition'],
    registers: [registry],
  });
  const lagSeconds = new Gauge({
    name: 'im_engine_projection_lag_seconds',
    help: 'Age of the oldest event not projected yet, by partition this process projects',
    labelNames: ['partition'],
    registers: [registry],
  });
  for (const [name, help, value] of SCRAPED)
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(sources));
      },
    });

  const refreshLag = () => {
    lagEvents.reset();
    lagSeconds.reset();
    for (const partition of sources.projection().projector.partitions) {
      lagEvents.set({ partition: String(partition.id) }, partition.lagEvents);
      lagSeconds.set({ partition: String(partition.id) }, partition.lagSeconds);
    }
  };

  return {
    registry,
    /** One request answered: its method, its code (200 for success) and how long it took. */
    answered(method: string, code: number, seconds: number) {
      requests.inc({ method, code: String(code) });
      latency.observe({ method }, seconds);
    },
    async text(): Promise<string> {
      refreshLag();
      return registry.metrics();
    },
  };
};

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Serves the metrics at `GET /metrics` on `port` (all interfaces: Prometheus scrapes from afar);
 * answers what counts a request, and how to stop serving.
 */
export const serveMetrics = async (metrics: Metrics, port: number, logger: Logger) => {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end('metrics are at GET /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error) => {
        logger.warn('metrics failed', { error });
        response.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((listening) => server.listen(port, listening));
  logger.info('metrics served', { url: `http://0.0.0.0:${port}/metrics` });
  return {
    answered: metrics.answered,
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
};
