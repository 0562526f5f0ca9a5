import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionOf } from './partition.ts';

describe('partitionOf', () => {
  it('is FNV-1a of the userID modulo the partitions: the same on every machine and release', () => {
    // FNV-1a 32-bit reference values: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968
    expect(partitionOf('a', 1000)).toBe(0xe40c292c % 1000);
    expect(partitionOf('foobar', 16)).toBe(0xbf9cf968 % 16);
    expect(partitionOf('alice', 1)).toBe(0);
  });

  it('answers a partition in range, always the same for the same userID', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 64 }),
        (id, n) => {
          const p = partitionOf(id, n);
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThan(n);
          expect(partitionOf(id, n)).toBe(p);
        },
      ),
    );
  });

  it('spreads userIDs evenly: 100,000 users over 16 partitions, each within 5 % of the mean', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const p = partitionOf(`user${i}`, 16);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    for (const count of counts) expect(Math.abs(count - 6250)).toBeLessThan(6250 * 0.05);
  });
});
