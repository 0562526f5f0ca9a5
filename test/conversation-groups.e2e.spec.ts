import { describe, expect, it } from 'vitest';
import { configEnv, runCli } from './support/cli-process.ts';
import { callbacksFor, conversationIDs, message, useTestEngine } from './support/harness.ts';

describe('conversation groups (SPEC §8.1 rule 17)', () => {
  const t = useTestEngine();

  const send = async (
    clientMsgID: string,
    fields: { sendID: string; recvID?: string; groupID?: string },
  ) => {
    const reply = await t.request('recordMessage', message({ clientMsgID, ...fields }));
    expect(reply.code).toBeUndefined();
  };
  const ok = async (method: string, body: unknown) => {
    const reply = await t.raw(method, body);
    expect(reply.error).toBeUndefined();
    return reply.body;
  };
  const groups = async (owner: string) =>
    (await ok('getConversationGroups', { userID: owner })).groups;
  /** The group as the owner's last callback about it shows it. */
  const groupCallback = (owner: string, id: string, matches: (group: any) => boolean) =>
    t.awaitCallback(
      owner,
      'OnConversationGroupChanged',
      (data: any) => data.conversationGroupID === id && matches(data),
    );

  it('creates, updates, fills and deletes a group, with counts and callbacks', async () => {
    const owner = 'cg-o';
    const [a, b, c] = ['si_cg-a_cg-o', 'si_cg-b_cg-o', 'si_cg-c_cg-o'];
    await send('a1', { sendID: 'cg-a', recvID: owner });
    await send('a2', { sendID: 'cg-a', recvID: owner });
    await send('b1', { sendID: 'cg-b', recvID: owner });
    await send('c1', { sendID: 'cg-c', recvID: owner });

    const created = await ok('createConversationGroup', {
      userID: owner,
      conversationGroupID: 'work',
      name: 'Work',
      order: 2,
      conversationIDs: [a, b],
    });
    expect(created.group).toEqual({
      conversationGroupID: 'work',
      name: 'Work',
      order: 2,
      ex: '',
      conversationCount: 2,
      unreadCount: 3,
      version: expect.any(Number),
    });
    await t.awaitCallback(
      owner,
      'OnConversationGroupAdded',
      (data: any) => data.conversationGroupID === 'work' && data.unreadCount === 3,
    );
    await t.awaitCallback(owner, 'OnConversationChanged', (data: any) =>
      data.some(
        (item: any) => item.conversationID === a && item.conversationGroupIDs[0] === 'work',
      ),
    );
    // The same create again is a retry: same answer, nothing appended; other fields are a conflict.
    const events = await t.countEvents();
    expect(
      (
        await ok('createConversationGroup', {
          userID: owner,
          conversationGroupID: 'work',
          name: 'Work',
          order: 2,
          conversationIDs: [a],
        })
      ).group,
    ).toEqual(created.group);
    expect(await t.countEvents()).toBe(events);
    const conflict = await t.raw('createConversationGroup', {
      userID: owner,
      conversationGroupID: 'work',
      name: 'Play',
    });
    expect(conflict.code).toBe(409);
    expect(conflict.error).toMatch(/^conversationGroupID: /);

    await ok('createConversationGroup', { userID: owner, conversationGroupID: 'all', name: 'All' });
    expect((await groups(owner)).map((g: any) => g.conversationGroupID)).toEqual(['all', 'work']);
    await ok('updateConversationGroup', { userID: owner, conversationGroupID: 'all', order: 5 });
    await groupCallback(owner, 'all', (group) => group.order === 5);
    expect((await groups(owner)).map((g: any) => g.conversationGroupID)).toEqual(['work', 'all']);

    // Counts follow every change of a member: a message, a read, a hide, a mute, a mark.
    await ok('addConversationsToGroup', {
      userID: owner,
      conversationGroupID: 'all',
      conversationIDs: [a, b, c],
    });
    await groupCallback(owner, 'all', (g) => g.conversationCount === 3 && g.unreadCount === 4);
    await send('c2', { sendID: 'cg-c', recvID: owner });
    await groupCallback(owner, 'all', (g) => g.unreadCount === 5);
    await ok('markConversationMessageAsRead', { userID: owner, conversationID: a });
    await groupCallback(owner, 'work', (g) => g.unreadCount === 1);
    await ok('hideConversation', { userID: owner, conversationID: b });
    await groupCallback(owner, 'work', (g) => g.conversationCount === 1 && g.unreadCount === 0);
    await ok('setConversationRecvMessageOpt', { userID: owner, conversationIDs: [c], opt: 2 });
    await groupCallback(owner, 'all', (g) => g.conversationCount === 2 && g.unreadCount === 0);
    await ok('markConversationAsUnread', { userID: owner, conversationID: a });
    await groupCallback(owner, 'all', (g) => g.unreadCount === 1);

    // The list of a group: its listed members, in list order, paged by the same cursors.
    const page = await ok('getConversationListPage', {
      userID: owner,
      conversationGroupID: 'all',
      limit: 1,
    });
    const next = await ok('getConversationListPage', {
      userID: owner,
      conversationGroupID: 'all',
      limit: 1,
      cursor: page.nextCursor,
    });
    expect([
      ...conversationIDs(page.conversations),
      ...conversationIDs(next.conversations),
    ]).toEqual(conversationIDs(await t.list(owner)).filter((id) => id !== b));
    expect(next.nextCursor).toBeNull();
    const unknown = await t.raw('getConversationListPage', {
      userID: owner,
      conversationGroupID: 'nope',
      limit: 10,
    });
    expect(unknown.code).toBe(404);

    // Membership outlives delete: the conversation comes back in its groups.
    await ok('deleteConversation', { userID: owner, conversationID: b });
    await send('b2', { sendID: 'cg-b', recvID: owner });
    const [back] = (await ok('getMultipleConversation', { userID: owner, conversationIDs: [b] }))
      .conversations;
    expect(back.conversationGroupIDs).toEqual(['all', 'work']);

    await ok('removeConversationsFromGroup', {
      userID: owner,
      conversationGroupID: 'work',
      conversationIDs: [b],
    });
    await groupCallback(owner, 'work', (g) => g.conversationCount === 1);

    // Deleting a group leaves its conversations where they were, out of that group.
    const before = await t.list(owner);
    expect(
      await ok('deleteConversationGroup', { userID: owner, conversationGroupID: 'all' }),
    ).toEqual({});
    await t.awaitCallback(
      owner,
      'OnConversationGroupDeleted',
      (data: any) => data.conversationGroupID === 'all',
    );
    const after = await t.list(owner);
    expect(conversationIDs(after)).toEqual(conversationIDs(before));
    expect(after.map((item) => item.conversationGroupIDs)).toEqual(
      before.map((item) => item.conversationGroupIDs.filter((id) => id !== 'all')),
    );
    const sync = await ok('syncConversations', { userID: owner });
    expect(sync.conversationGroups.map((g: any) => g.conversationGroupID)).toEqual(['work']);
    // Deleting it again is done already: same answer, nothing appended, nothing published.
    const seen = callbacksFor(await t.callbacksUntilNow(), owner).length;
    const appended = await t.countEvents();
    expect(
      await ok('deleteConversationGroup', { userID: owner, conversationGroupID: 'all' }),
    ).toEqual({});
    expect(await t.countEvents()).toBe(appended);
    expect(callbacksFor(await t.callbacksUntilNow(), owner)).toHaveLength(seen);
  });

  it('takes a repeated update, add or remove as done: same answer, nothing appended or published', async () => {
    const owner = 'cg-rep';
    await send('r1', { sendID: 'cg-rp', recvID: owner });
    await ok('createConversationGroup', { userID: owner, conversationGroupID: 'g', name: 'G' });
    const chat = 'si_cg-rep_cg-rp';
    for (const [method, body] of [
      ['updateConversationGroup', { userID: owner, conversationGroupID: 'g', name: 'H', order: 3 }],
      [
        'addConversationsToGroup',
        { userID: owner, conversationGroupID: 'g', conversationIDs: [chat] },
      ],
      [
        'removeConversationsFromGroup',
        { userID: owner, conversationGroupID: 'g', conversationIDs: [chat] },
      ],
    ] as const) {
      const first = await ok(method, body);
      const seen = callbacksFor(await t.callbacksUntilNow(), owner).length;
      const events = await t.countEvents();
      expect(await ok(method, body)).toEqual(first);
      expect(await t.countEvents()).toBe(events);
      expect(callbacksFor(await t.callbacksUntilNow(), owner)).toHaveLength(seen);
    }
  });

  it('refuses unknown groups and conversations with 404, and a 101st group with 400', async () => {
    const owner = 'cg-limit';
    await send('l1', { sendID: 'cg-l', recvID: owner });
    const missingGroup = await t.raw('addConversationsToGroup', {
      userID: owner,
      conversationGroupID: 'none',
      conversationIDs: ['si_cg-l_cg-limit'],
    });
    expect(missingGroup.code).toBe(404);
    expect(missingGroup.error).toMatch(/^conversationGroupID: /);
    const missingConversation = await t.raw('createConversationGroup', {
      userID: owner,
      conversationGroupID: 'g0',
      name: 'G',
      conversationIDs: ['si_cg-limit_cg-x'],
    });
    expect(missingConversation.code).toBe(404);
    expect(missingConversation.error).toMatch(/^conversationID: /);

    for (let start = 0; start < 100; start += 25)
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          ok('createConversationGroup', {
            userID: owner,
            conversationGroupID: `g${start + i}`,
            name: `G${start + i}`,
          }),
        ),
      );
    expect(await groups(owner)).toHaveLength(100);
    const tooMany = await t.raw('createConversationGroup', {
      userID: owner,
      conversationGroupID: 'g100',
      name: 'one too many',
    });
    expect(tooMany.code).toBe(400);
    expect(tooMany.error).toMatch(/^conversationGroupID: .* 100 conversation groups/);
  }, 60_000);

  it('keeps every member’s group counts exact after a 1,000-member group message', async () => {
    const members = Array.from({ length: 1000 }, (_, i) => `cgm${String(i).padStart(4, '0')}`);
    await ok('joinGroup', { groupID: 'cg-big', userIDs: members });
    for (let start = 0; start < members.length; start += 100)
      await Promise.all(
        members.slice(start, start + 100).map((owner) =>
          ok('createConversationGroup', {
            userID: owner,
            conversationGroupID: 'groups',
            name: 'Groups',
            conversationIDs: ['sg_cg-big'],
          }),
        ),
      );
    await send('big1', { sendID: members[0] as string, groupID: 'cg-big' });
    const others = members.slice(1);
    for (const owner of [others[0], others[500], others.at(-1)] as string[])
      await groupCallback(owner, 'groups', (g) => g.unreadCount === 1 && g.conversationCount === 1);
    const counts = await Promise.all(others.map((owner) => groups(owner)));
    expect(
      new Set(counts.map((list) => JSON.stringify(list.map((g: any) => g.unreadCount)))),
    ).toEqual(new Set(['[1]']));
    // The sender read it by writing it: nothing unread in their group.
    expect((await groups(members[0] as string))[0]).toMatchObject({ unreadCount: 0 });
  }, 120_000);

  it('verify (the CLI) finds the read model equal after every new command', async () => {
    const owner = 'cg-v';
    for (const peer of ['p', 'q', 'r'])
      for (const n of [1, 2, 3])
        await send(`${peer}${n}`, { sendID: `cg-v${peer}`, recvID: owner });
    await ok('joinGroup', { groupID: 'cg-vg', userIDs: [owner, 'cg-vp'] });
    await send('g1', { sendID: 'cg-vp', groupID: 'cg-vg' });
    const [p, q, r] = ['si_cg-v_cg-vp', 'si_cg-v_cg-vq', 'si_cg-v_cg-vr'];
    await ok('createConversationGroup', {
      userID: owner,
      conversationGroupID: 'one',
      name: 'One',
      conversationIDs: [p, q, 'sg_cg-vg'],
    });
    await ok('createConversationGroup', { userID: owner, conversationGroupID: 'two', name: 'Two' });
    await ok('updateConversationGroup', { userID: owner, conversationGroupID: 'two', ex: 'x' });
    await ok('addConversationsToGroup', {
      userID: owner,
      conversationGroupID: 'two',
      conversationIDs: [q, r],
    });
    await ok('removeConversationsFromGroup', {
      userID: owner,
      conversationGroupID: 'one',
      conversationIDs: [q],
    });
    await ok('markConversationMessageAsRead', { userID: owner, conversationID: p, upToSeq: 2 });
    await ok('markConversationAsUnread', { userID: owner, conversationID: q });
    await ok('markConversationAsUnread', { userID: owner, conversationID: r, fromSeq: 2 });
    await ok('hideAllConversations', { userID: owner });
    await send('g2', { sendID: 'cg-vp', groupID: 'cg-vg' });
    await ok('deleteConversationGroup', { userID: owner, conversationGroupID: 'two' });
    const verify = await runCli(['verify'], configEnv(t.config));
    expect(verify.stdout).toMatch(/^equal: /);
    expect(verify.code).toBe(0);
  }, 120_000);
});
