import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngineDatabase } from '../../../../test/support/engine-database.ts';
import { groupBurst } from '../../../../test/support/group-burst.ts';
import { appendWorkload, workload } from '../../../../test/support/projector-workload.ts';
import { ensureLayout } from '../projection/layout.ts';
import { acquireLeases } from '../projection/lease.ts';
import { projectBatch } from '../projection/project-batch.ts';
import { projectorLease } from '../read-model/names.ts';
import type { EngineDatabase } from '../read-model/schema.ts';
import type { Callback } from './callback.ts';
import { type CallbackPages, resolveBatch } from './callback-pages.ts';
import { readOutboxEntries } from './outbox-reader.ts';

const PARTITIONS = [0, 1, 2, 3];
const HOLDER = 'pages-test';

/** Every callback of the pages, in order, taking `share` of each page at a time. */
const drain = async (pages: CallbackPages, share = 1) => {
  const published: Callback[] = [];
  let sizes = 0;
  for (let page = await pages.current(); page; page = await pages.current()) {
    if (page.from === 0) sizes = Math.max(sizes, page.callbacks.length);
    const count = Math.max(1, Math.floor((page.callbacks.length - page.from) * share));
    published.push(...page.callbacks.slice(page.from, page.from + count));
    pages.took(count);
  }
  return { published, largestPage: sizes };
};

describe('a batch’s callbacks worked out a page of members at a time', () => {
  let database: EngineDatabase;
  beforeAll(async () => {
    database = await openEngineDatabase();
    await ensureLayout(database.db, PARTITIONS.length);
    await appendWorkload(database.db, groupBurst({ members: 300, messages: 30 }), {
      concurrency: 1,
    });
    await appendWorkload(database.db, workload({ events: 1500, users: 40, groups: 4 }));
    await acquireLeases(database.db, {
      names: PARTITIONS.map(projectorLease),
      holder: HOLDER,
      ttlMs: 60_000,
    });
    for (let projected = 1; projected > 0; ) {
      const result = await projectBatch(database, {
        holder: HOLDER,
        partitionCount: PARTITIONS.length,
        partitions: PARTITIONS,
        batchSize: 50,
        outboxAfter: undefined,
      });
      projected = result.events;
    }
  }, 120_000);
  afterAll(() => database.close());

  const callbacksWith = async (pageMembers: number, share?: number) => {
    const batch = await readOutboxEntries(database.db, PARTITIONS, 0, 1_000_000);
    const read = await resolveBatch(database.db, batch, 0, pageMembers);
    return drain(read.pages, share);
  };

  it('gives a batch the same callbacks whatever the page size, and resumes part way', async () => {
    const whole = await callbacksWith(1_000_000);
    expect(whole.published.length).toBeGreaterThan(5000);
    const fanned = whole.published.filter((c) => c.userID.startsWith('b'));
    expect(fanned.length).toBeGreaterThan(10 * 300);
    const paged = await callbacksWith(40);
    // a page holds at most 40 group members' callbacks beside the changes by name
    expect(paged.largestPage).toBeLessThan(whole.largestPage);
    expect(paged.published).toEqual(whole.published);
    const resumed = await callbacksWith(40, 0.4);
    expect(resumed.published).toEqual(whole.published);
  });
});
