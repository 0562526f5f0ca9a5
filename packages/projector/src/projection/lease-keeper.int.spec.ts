import { silentLogger } from '@im/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import { holdProjectors } from '../rebuild/replay-run.ts';
import { createPartitionLeases, type PartitionLeases } from './lease-keeper.ts';

const PARTITIONS = 8;

describe('partition leases', () => {
  let database: EngineDatabase;
  const keepers: PartitionLeases[] = [];
  const keeper = (holder: string, ttlMs = 600) => {
    const leases = createPartitionLeases({
      db: database.db,
      health: database.health,
      partitions: PARTITIONS,
      holder,
      ttlMs,
      logger: silentLogger,
      onChange: () => {},
    });
    keepers.push(leases);
    return leases;
  };

  beforeAll(async () => {
    database = await openEngineDatabase();
    // A rebuild's hold leaves placeholder leases that expired at -infinity: they are free.
    await database.db.transaction().execute((tx) => holdProjectors(tx, PARTITIONS));
  });
  afterAll(async () => {
    for (const leases of keepers) await leases.stop();
    await database.close();
  });

  it('are shared evenly by the live processes, and a stopped one’s go to the others', async () => {
    const a = keeper('a');
    await a.start();
    expect(a.held()).toHaveLength(PARTITIONS);

    const b = keeper('b');
    await b.start();
    // b counts two processes at once; a gives back half at its next renewal, and b takes them.
    await expect
      .poll(() => [a.held().length, b.held().length], { timeout: 10_000, interval: 50 })
      .toEqual([4, 4]);
    expect([...a.held(), ...b.held()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const c = keeper('c');
    await c.start();
    await expect
      .poll(() => [a, b, c].map((k) => k.held().length).sort(), { timeout: 10_000, interval: 50 })
      .toEqual([2, 3, 3]);

    await c.stop();
    await b.stop();
    await expect.poll(() => a.held().length, { timeout: 10_000, interval: 50 }).toBe(PARTITIONS);
  });
});
