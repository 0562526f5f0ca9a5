import { expect, it } from 'vitest';
import { callbacksFor, message, useTestEngine } from './support/harness.ts';

const t = useTestEngine();
const OWNER = 'pg-o';
const COUNT = 20_000;

it('pages a full sync of 20,000 conversations: each once, progress up to 100, and what changed meanwhile by the first page’s version', async () => {
  for (let start = 0; start < COUNT; start += 500)
    await Promise.all(
      Array.from({ length: Math.min(500, COUNT - start) }, (_, i) =>
        t.api.recordMessage(
          message({ clientMsgID: 'm1', sendID: `pg-p${start + i}`, recvID: OWNER }),
        ),
      ),
    );

  const seen = new Map<string, number>();
  const take = (conversations: Array<{ conversationID: string }>) => {
    for (const { conversationID } of conversations)
      seen.set(conversationID, (seen.get(conversationID) ?? 0) + 1);
  };
  const first = await t.api.syncConversations({ userID: OWNER, limit: 1000 });
  expect(first).toMatchObject({ full: true, nextCursor: expect.any(String) });
  expect(first.conversations).toHaveLength(1000);
  take(first.conversations);

  let cursor = first.nextCursor;
  let pages = 1;
  const changed = new Set<string>();
  while (cursor) {
    const page = await t.api.syncConversations({ userID: OWNER, cursor, limit: 1000 });
    expect(page).toMatchObject({ full: true, version: first.version });
    take(page.conversations);
    cursor = page.nextCursor;
    pages += 1;
    if (pages === 3) {
      // Meanwhile: two conversations of the first page pinned, a message into a third, and a
      // new conversation; all of them move ahead of the cursor, where paging does not look.
      const [a, b, c] = first.conversations.map((item) => item.conversationID);
      for (const id of [a, b] as string[]) {
        await t.api.pinConversation({ userID: OWNER, conversationID: id, isPinned: true });
        changed.add(id);
      }
      const peer = (c as string).replace(`_${OWNER}`, '').replace('si_', '');
      await t.api.recordMessage(message({ clientMsgID: 'm2', sendID: peer, recvID: OWNER }));
      changed.add(c as string);
      const added = await t.api.recordMessage(
        message({ clientMsgID: 'm1', sendID: 'pg-new', recvID: OWNER }),
      );
      changed.add(added.conversationID);
    }
  }
  expect(pages).toBe(COUNT / 1000);
  expect(seen.size).toBe(COUNT);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);

  const progress = callbacksFor(await t.callbacksUntilNow(), OWNER, 'OnSyncServerProgress').map(
    (c) => (c.data as { progress: number }).progress,
  );
  expect(progress).toHaveLength(pages);
  expect(progress).toEqual([...progress].sort((x, y) => x - y));
  expect(progress.at(-1)).toBe(100);
  expect(callbacksFor(await t.callbacksUntilNow(), OWNER, 'OnSyncServerFinish')).toHaveLength(1);

  const since = await t.api.syncConversations({ userID: OWNER, sinceVersion: first.version });
  expect(since.full).toBe(false);
  expect(new Set(since.conversations.map((item) => item.conversationID))).toEqual(changed);
}, 240_000);
