import { describe, expect, it } from 'vitest';
import { createOneAtATime } from './one-at-a-time.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('one at a time per stream', () => {
  it('runs the tasks of one stream in the order they came, each after the one before settled', async () => {
    const turns = createOneAtATime();
    const log: string[] = [];
    const task = (name: string, ticks: number) => async () => {
      log.push(`${name} starts`);
      for (let i = 0; i < ticks; i++) await tick();
      log.push(`${name} ends`);
      return name;
    };
    const results = await Promise.all([
      turns.run('s', task('first', 3)),
      turns.run('s', task('second', 1)),
      turns.run('s', task('third', 0)),
    ]);
    expect(results).toEqual(['first', 'second', 'third']);
    expect(log).toEqual([
      'first starts',
      'first ends',
      'second starts',
      'second ends',
      'third starts',
      'third ends',
    ]);
  });

  it('runs tasks of different streams side by side', async () => {
    const turns = createOneAtATime();
    const log: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = turns.run('a', async () => {
      log.push('a starts');
      await held;
      log.push('a ends');
    });
    await turns.run('b', async () => {
      log.push('b runs');
    });
    release();
    await slow;
    expect(log).toEqual(['a starts', 'b runs', 'a ends']);
  });

  it('goes on with the next task after one fails, and the failure reaches its own caller only', async () => {
    const turns = createOneAtATime();
    const failing = turns.run('s', async () => {
      throw new Error('no');
    });
    const next = turns.run('s', async () => 'next');
    await expect(failing).rejects.toThrow('no');
    await expect(next).resolves.toBe('next');
  });
});
