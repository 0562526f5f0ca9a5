import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReceivedCallback } from './support/callback-collector.ts';
import { message, startTestEngine, type TestEngine } from './support/harness.ts';

const MEMBERS = 10_000;
const members = Array.from({ length: MEMBERS }, (_, i) => `m${String(i).padStart(5, '0')}`);
const sender = members[0] as string;

/** Counts the callbacks that match, looking at each one once however often it is asked. */
const counter = (matches: (c: ReceivedCallback) => boolean) => {
  let seen = 0;
  let count = 0;
  return (all: readonly ReceivedCallback[]) => {
    for (; seen < all.length; seen++) if (matches(all[seen] as ReceivedCallback)) count++;
    return count;
  };
};

/** Per owner, the callbacks `name` received at `version`. */
const byOwner = (all: readonly ReceivedCallback[], name: string, version: number) => {
  const owners = new Map<string, ReceivedCallback>();
  for (const c of all) if (c.name === name && c.version === version) owners.set(c.userID, c);
  return owners;
};

describe('fan-out of one group message to 10,000 members', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ PROJECTOR_THREADS: '2' });
    const joined = await t.request('joinGroup', { groupID: 'big', userIDs: members });
    expect(joined.code).toBeUndefined();
  }, 120_000);
  afterAll(() => t.stop());

  it('publishes every member a callback and the changed totals, once each', async () => {
    const first = await t.request(
      'recordMessage',
      message({ clientMsgID: 'first', sendID: sender, groupID: 'big' }),
    );
    expect(first.code).toBeUndefined();
    const entered = counter((c) => c.name === 'OnNewConversation');
    const afterFirst = await t.callbacks.until((all) => entered(all) >= MEMBERS, 120_000);
    const firstVersion = afterFirst.find((c) => c.name === 'OnNewConversation')?.version as number;
    expect(byOwner(afterFirst, 'OnNewConversation', firstVersion).size).toBe(MEMBERS);

    // The measured message: every member's conversation changes; everyone but the sender gains
    // one unread, the sender's total stays 0 and gets no total callback.
    const startedAt = Date.now();
    const started = performance.now();
    const second = await t.request(
      'recordMessage',
      message({ clientMsgID: 'second', sendID: sender, groupID: 'big', content: 'again' }),
    );
    const replied = performance.now();
    expect(second.body).toMatchObject({ conversationID: 'sg_big', seq: 2, duplicate: false });
    const changedCount = counter((c) => c.name === 'OnConversationChanged');
    const totalCount = counter((c) => c.name === 'OnTotalUnreadMessageCountChanged');
    const all = await t.callbacks.until(
      (received) => changedCount(received) >= MEMBERS && totalCount(received) >= 2 * (MEMBERS - 1),
      120_000,
    );
    const lastArrived = performance.now();
    // Projection threads report their publishers' figures a moment later.
    const published = await vi.waitFor(() => {
      const stats = t.engine.stats().publisher as { lastPublishedAt: number; backlog: number };
      if (stats.lastPublishedAt < startedAt || stats.backlog > 0) throw new Error('not yet');
      return stats;
    });

    const version = all.find((c) => c.name === 'OnConversationChanged')?.version as number;
    expect(version).toBeGreaterThan(firstVersion);
    const changed = byOwner(all, 'OnConversationChanged', version);
    expect([...changed.keys()].sort()).toEqual(members);
    for (const c of changed.values()) {
      expect(c.data[0]).toMatchObject({
        conversationID: 'sg_big',
        maxSeq: 2,
        unreadCount: c.userID === sender ? 0 : 2,
      });
    }
    const totals = byOwner(all, 'OnTotalUnreadMessageCountChanged', version);
    expect(totals.size).toBe(MEMBERS - 1);
    expect(totals.has(sender)).toBe(false);
    for (const c of totals.values()) expect(c.data).toBe(2);
    const ids = all.map((c) => c.msgID);
    expect(new Set(ids).size).toBe(ids.length);

    console.info(
      `10k fan-out: reply ${Math.round(replied - started)} ms, last callback published ` +
        `${published.lastPublishedAt - startedAt} ms, ` +
        `received ${Math.round(lastArrived - started)} ms after recordMessage was sent`,
    );
  }, 240_000);
});
