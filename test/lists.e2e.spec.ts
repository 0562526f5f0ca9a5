import { describe, expect, it } from 'vitest';
import { conversationIDs, message, useTestEngine } from './support/harness.ts';

const T = 1_700_000_000_000;

describe('the list queries (SPEC §2 list order, §4)', () => {
  const t = useTestEngine();

  const send = (
    clientMsgID: string,
    sendID: string,
    recvID: string,
    sendTime: number,
    content = 'hi',
  ) => t.request('recordMessage', message({ clientMsgID, sendID, recvID, sendTime, content }));
  const page = async (userID: string, limit: number, cursor?: string | null) => {
    const reply = await t.request('getConversationListPage', {
      userID,
      limit,
      ...(cursor === undefined ? {} : { cursor }),
    });
    expect(reply.code).toBeUndefined();
    return reply.body as { conversations: any[]; nextCursor: string | null };
  };

  it('getMultipleConversation answers the known conversations and leaves unknown IDs out', async () => {
    await send('m1', 'lm-a', 'lm-o', T);
    await send('m2', 'lm-b', 'lm-o', T);
    await t.request('hideConversation', { userID: 'lm-o', conversationID: 'si_lm-b_lm-o' });
    const reply = await t.request('getMultipleConversation', {
      userID: 'lm-o',
      conversationIDs: [
        'si_lm-a_lm-o',
        'si_lm-o_lm-zz',
        'sg_lm-nogroup',
        'si_lm-b_lm-o',
        'si_lm-a_lm-b',
      ],
    });
    expect(reply.code).toBeUndefined();
    const found = [...reply.body.conversations].sort((a: any, b: any) =>
      a.conversationID < b.conversationID ? -1 : 1,
    );
    expect(found).toEqual([
      expect.objectContaining({ conversationID: 'si_lm-a_lm-o', userID: 'lm-a', unreadCount: 1 }),
      expect.objectContaining({ conversationID: 'si_lm-b_lm-o', isHidden: true, unreadCount: 1 }),
    ]);
    expect(
      (await t.request('getMultipleConversation', { userID: 'lm-o', conversationIDs: [] })).body,
    ).toEqual({ conversations: [] });
  });

  it('getConversationIDBySessionType derives the ID, whether or not the conversation exists', async () => {
    const derive = async (userID: string, sessionType: 1 | 3 | 4, sourceID: string) =>
      (await t.request('getConversationIDBySessionType', { userID, sessionType, sourceID })).body;
    expect(await derive('zed', 1, 'amy')).toEqual({ conversationID: 'si_amy_zed' });
    expect(await derive('amy', 1, 'zed')).toEqual({ conversationID: 'si_amy_zed' });
    expect(await derive('amy', 3, 'team-1')).toEqual({ conversationID: 'sg_team-1' });
    expect(await derive('zed', 4, 'amy')).toEqual({ conversationID: 'sn_amy_zed' });
  });

  it('getConversationListSplit pages by offset in list order', async () => {
    const owner = 'ls-o';
    for (let i = 0; i < 7; i++) await send(`s${i}`, `ls-${i}`, owner, T + i * 1000);
    await t.request('pinConversation', {
      userID: owner,
      conversationID: 'si_ls-2_ls-o',
      isPinned: true,
    });
    const full = conversationIDs(await t.list(owner));
    expect(full).toEqual([
      'si_ls-2_ls-o',
      'si_ls-6_ls-o',
      'si_ls-5_ls-o',
      'si_ls-4_ls-o',
      'si_ls-3_ls-o',
      'si_ls-1_ls-o',
      'si_ls-0_ls-o',
    ]);
    const split = async (offset: number, count: number) =>
      conversationIDs(
        (await t.request('getConversationListSplit', { userID: owner, offset, count })).body
          .conversations,
      );
    expect(await split(0, 3)).toEqual(full.slice(0, 3));
    expect(await split(3, 3)).toEqual(full.slice(3, 6));
    expect(await split(6, 3)).toEqual(full.slice(6));
    expect(await split(9, 3)).toEqual([]);
    expect(await split(0, 1000)).toEqual(full);
  });

  it('getConversationListPage ends with nextCursor null, also when the list fills the last page exactly', async () => {
    const owner = 'le-o';
    for (let i = 0; i < 6; i++) await send(`e${i}`, `le-${i}`, owner, T + i * 1000);
    const full = conversationIDs(await t.list(owner));
    const first = await page(owner, 3);
    expect(conversationIDs(first.conversations)).toEqual(full.slice(0, 3));
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await page(owner, 3, first.nextCursor);
    expect(conversationIDs(second.conversations)).toEqual(full.slice(3));
    expect(second.nextCursor).toBeNull();
    const whole = await page(owner, 1000);
    expect(conversationIDs(whole.conversations)).toEqual(full);
    expect(whole.nextCursor).toBeNull();
    expect(await page('le-nobody', 10)).toEqual({ conversations: [], nextCursor: null });
    expect(await page(owner, 10, null)).toEqual(whole);
  });

  it('getConversationListPage pages one item at a time across pinned items, drafts and equal times', async () => {
    const owner = 'l1-o';
    for (const [i, peer] of ['l1-a', 'l1-b', 'l1-c', 'l1-d', 'l1-e', 'l1-f'].entries()) {
      await send(`o${i}`, peer, owner, T + (i < 3 ? 0 : i * 1000));
    }
    await t.request('pinConversation', {
      userID: owner,
      conversationID: 'si_l1-b_l1-o',
      isPinned: true,
    });
    await t.request('pinConversation', {
      userID: owner,
      conversationID: 'si_l1-e_l1-o',
      isPinned: true,
    });
    await t.request('setConversationDraft', {
      userID: owner,
      conversationID: 'si_l1-c_l1-o',
      draftText: 'soon',
    });
    const fullItems = await t.list(owner);
    const full = conversationIDs(fullItems);
    expect(full).toEqual([
      'si_l1-e_l1-o',
      'si_l1-b_l1-o',
      'si_l1-c_l1-o',
      'si_l1-f_l1-o',
      'si_l1-d_l1-o',
      'si_l1-a_l1-o',
    ]);
    const seen: unknown[] = [];
    let cursor: string | null | undefined;
    while (cursor !== null && seen.length <= full.length) {
      const next = await page(owner, 1, cursor);
      seen.push(...next.conversations);
      cursor = next.nextCursor;
    }
    // The whole list's items are built by PostgreSQL, a page's in JavaScript: the same fields.
    expect(seen).toEqual(fullItems);
  });

  it('getConversationListPage pages a list that changes between pages, dropping and repeating nothing that stayed put', async () => {
    const owner = 'lk-o';
    const peers = Array.from({ length: 30 }, (_, i) => `lk-${String(i).padStart(2, '0')}`);
    // Three conversations share each sendTime, so ties are broken by conversationID across pages.
    for (const [i, peer] of peers.entries())
      await send(`k${i}`, peer, owner, T + Math.floor(i / 3) * 1000);
    const id = (peer: string) => `si_${peer}_${owner}`;
    await t.request('pinConversation', {
      userID: owner,
      conversationID: id('lk-04'),
      isPinned: true,
    });
    await t.request('pinConversation', {
      userID: owner,
      conversationID: id('lk-20'),
      isPinned: true,
    });
    const initial = conversationIDs(await t.list(owner));
    expect(initial.slice(0, 2)).toEqual([id('lk-20'), id('lk-04')]);
    // Ties: within one sendTime, conversationID ascending.
    expect(initial.slice(2, 5)).toEqual([id('lk-27'), id('lk-28'), id('lk-29')]);

    const moved = new Set<string>();
    const seen: string[] = [];
    const first = await page(owner, 7);
    seen.push(...conversationIDs(first.conversations));
    expect(conversationIDs(first.conversations)).toEqual(initial.slice(0, 7));

    // Between pages: the cursor's own conversation moves to the top, an unseen one is deleted,
    // another unseen one is pinned, a seen pinned one is unpinned, and a new conversation arrives.
    const cursorItem = seen.at(-1) as string;
    const cursorPeer = cursorItem.slice(3, 8);
    await send('k-move', cursorPeer, owner, T + 100_000);
    await t.request('deleteConversation', { userID: owner, conversationID: initial[10] as string });
    await t.request('pinConversation', {
      userID: owner,
      conversationID: initial[15] as string,
      isPinned: true,
    });
    await t.request('pinConversation', {
      userID: owner,
      conversationID: id('lk-04'),
      isPinned: false,
    });
    await send('k-new', 'lk-new', owner, T + 200_000);
    for (const item of [cursorItem, initial[10], initial[15], id('lk-04'), id('lk-new')])
      moved.add(item as string);

    let cursor = first.nextCursor;
    let pages = 1;
    while (cursor !== null) {
      const next = await page(owner, 7, cursor);
      seen.push(...conversationIDs(next.conversations));
      cursor = next.nextCursor;
      if (pages === 1) {
        // A draft lifts an unseen conversation above the cursor.
        const drafted = initial[25] as string;
        await t.request('setConversationDraft', {
          userID: owner,
          conversationID: drafted,
          draftText: 'd',
        });
        moved.add(drafted);
      }
      pages += 1;
      expect(pages).toBeLessThan(20);
    }

    const stayed = initial.filter((c) => !moved.has(c));
    const seenStayed = seen.filter((c) => !moved.has(c));
    expect(seenStayed).toEqual(stayed);
    // Nothing comes twice, but lk-04: seen on the first page, then unpinned below the cursor.
    for (const conversationID of new Set(seen)) {
      const times = seen.filter((c) => c === conversationID).length;
      expect(times, conversationID).toBeLessThanOrEqual(conversationID === id('lk-04') ? 2 : 1);
    }
    expect(pages).toBeGreaterThanOrEqual(4);
    // Every page was in list order: what stayed put came in the order of the list.
    const final = conversationIDs(await t.list(owner));
    expect(final.filter((c) => !moved.has(c))).toEqual(stayed);
  });

  it('answers a getAllConversationList over the maximum payload with 413 naming getConversationListPage, which pages it', async () => {
    const owner = 'lb-o';
    const maxPayload = t.nc.info?.max_payload ?? 1024 * 1024;
    const content = 'x'.repeat(16 * 1024);
    const conversations = Math.ceil(maxPayload / content.length) + 4;
    for (let i = 0; i < conversations; i++) await send(`b${i}`, `lb-${i}`, owner, T + i, content);

    const all = await t.request('getAllConversationList', { userID: owner });
    expect(all.code).toBe(413);
    expect(all.error).toContain('getConversationListPage');
    expect(all.body).toEqual({ errCode: 413, errMsg: all.error, errDlt: expect.any(String) });

    const split = await t.request('getConversationListSplit', {
      userID: owner,
      offset: 0,
      count: 1000,
    });
    expect(split.code).toBe(413);

    // A page asked for more than fits holds fewer items, and paging still reaches the end.
    const seen: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    while (cursor !== null && pages < conversations) {
      const next = await page(owner, 1000, cursor);
      expect(next.conversations.length).toBeGreaterThan(0);
      expect(next.conversations.length).toBeLessThan(conversations);
      seen.push(...conversationIDs(next.conversations));
      cursor = next.nextCursor;
      pages += 1;
    }
    expect(cursor).toBeNull();
    const inOrder: string[] = [];
    for (let offset = 0; offset < conversations; offset += 20) {
      const part = await t.request('getConversationListSplit', {
        userID: owner,
        offset,
        count: 20,
      });
      inOrder.push(...conversationIDs(part.body.conversations));
    }
    expect(seen).toEqual(inOrder);
    expect(new Set(seen).size).toBe(conversations);
  });
});
