import { recordingLogger } from '@im/domain';
import { describe, expect, it } from 'vitest';
import { createProgress, progressFields, renderBar } from './progress.ts';

const clock = () => {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe('rebuild progress', () => {
  it('draws a bar with events done and total, events/s and ETA', () => {
    expect(renderBar('rebuild', { done: 50_000, total: 200_000, elapsedMs: 1000 })).toBe(
      'rebuild [███████░░░░░░░░░░░░░░░░░░░░░] 50,000/200,000 events  25.0%  50,000 ev/s  ETA 0:03',
    );
    expect(renderBar('rebuild', { done: 0, total: 10, elapsedMs: 0 })).toMatch(/ETA --:--$/);
    expect(renderBar('rebuild', { done: 1, total: 7201, elapsedMs: 1000 })).toMatch(/ETA 2:00:00$/);
  });

  it('on a terminal, redraws one line in place and ends it when done', () => {
    const written: string[] = [];
    const time = clock();
    const progress = createProgress({
      label: 'rebuild',
      output: { isTTY: true, write: (text) => written.push(text) },
      logger: { ...recordingLogger(), info: () => written.push('log line') },
      now: time.now,
    });
    progress.setTotal(30);
    progress.add(10);
    time.advance(50);
    progress.add(10); // within the redraw interval: not drawn
    time.advance(100);
    progress.add(10);
    progress.finish();
    expect(written).toHaveLength(4);
    expect(written.slice(0, 3).every((text) => text.startsWith('\rrebuild ['))).toBe(true);
    expect(written[2]).toContain('30/30 events  100.0%');
    expect(written[3]).toBe('\n');
  });

  it('off a terminal, logs progress lines at the interval and a last one when done', () => {
    const logger = recordingLogger();
    const time = clock();
    const progress = createProgress({
      label: 'rebuild',
      output: { isTTY: false, write: () => expect.unreachable('no bar off a terminal') },
      logger,
      logEveryMs: 5000,
      now: time.now,
    });
    progress.setTotal(100);
    for (let i = 0; i < 10; i++) {
      time.advance(1000);
      progress.add(10);
    }
    progress.finish();
    const lines = logger.entries.map(
      (entry): Record<string, unknown> => ({
        msg: entry.msg,
        ...entry.fields,
      }),
    );
    expect(lines.map((line) => line.done)).toEqual([10, 60, 100]);
    expect(lines.at(-1)).toMatchObject({
      msg: 'rebuild progress',
      done: 100,
      total: 100,
      percent: 100,
      eventsPerSecond: 10,
      etaSeconds: 0,
    });
    expect(progressFields({ done: 0, total: 0, elapsedMs: 0 })).toMatchObject({
      percent: 100,
      etaSeconds: null,
    });
  });
});
