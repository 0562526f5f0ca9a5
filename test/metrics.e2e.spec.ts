import { expect, it } from 'vitest';
import { freePort } from './support/free-port.ts';
import { message, useTestEngine } from './support/harness.ts';

const port = await freePort();
const t = useTestEngine({ METRICS_PORT: String(port) });

it('serves Prometheus metrics: request counts and latency histograms by method and code, projection, publisher and list-cache figures', async () => {
  await t.request(
    'recordMessage',
    message({ clientMsgID: 'mt-1', sendID: 'mt-a', recvID: 'mt-b' }),
  );
  for (let i = 0; i < 3; i++) await t.request('getTotalUnreadMsgCount', { userID: 'mt-b' });
  await t.raw('pinConversation', {
    userID: 'mt-b',
    conversationID: 'si_mt-b_mt-x',
    isPinned: true,
  });
  await t.raw('getTotalUnreadMsgCount', { userID: 'not.an.id' });
  // The whole list twice, unchanged in between: read once, then answered from the cache.
  for (let i = 0; i < 2; i++) await t.request('getAllConversationList', { userID: 'mt-a' });

  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const text = await response.text();
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  expect(
    value('im_engine_requests_total{method="getTotalUnreadMsgCount",code="200"}'),
  ).toBeGreaterThanOrEqual(3);
  expect(value('im_engine_requests_total{method="getTotalUnreadMsgCount",code="400"}')).toBe(1);
  expect(value('im_engine_requests_total{method="pinConversation",code="404"}')).toBe(1);
  expect(
    value('im_engine_request_duration_seconds_count{method="getTotalUnreadMsgCount"}'),
  ).toBeGreaterThanOrEqual(4);
  expect(text).toMatch(
    /^im_engine_request_duration_seconds_bucket\{le="0\.005",method="recordMessage"\} \d+$/m,
  );
  expect(value('im_engine_projection_events_total')).toBeGreaterThanOrEqual(1);
  expect(value('im_engine_publisher_backlog')).toBeGreaterThanOrEqual(0);
  expect(value('im_engine_publisher_connected')).toBe(1);
  expect(value('im_engine_list_cache_misses_total')).toBe(1);
  expect(value('im_engine_list_cache_hits_total')).toBe(1);
  expect(value('im_engine_list_cache_bytes')).toBeGreaterThan(0);
  expect(text).toMatch(/^im_engine_projection_lag_events\{partition="\d+"\} \d+$/m);
  expect(text).toContain('im_engine_process_resident_memory_bytes');
  expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
});
