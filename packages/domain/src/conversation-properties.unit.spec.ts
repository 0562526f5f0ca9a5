import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import {
  type ConversationGroupCommand,
  type ConversationGroupFields,
  conversationGroupCounts,
  decideConversationGroupCommand,
} from './conversation-groups.ts';
import {
  decideJoinGroup,
  decideLeaveGroup,
  decideOwnerCommand,
  decideRecordMessage,
  type OwnerCommand,
} from './decide.ts';
import {
  type ConversationEvent,
  type ConversationSettings,
  isConversationGroupDefinition,
} from './events.ts';
import { AT_ALL_TAG, differs, evolve, namedOwners } from './evolve.ts';
import { groupConversationID, singleConversationID } from './ids.ts';
import { toItem, totalUnread, unreadCount } from './unread.ts';

const T0 = 1_700_000_000_000;
const USERS = ['ann', 'ben', 'cat', 'dan'] as const;
const GROUPS = ['g1', 'g2'] as const;
type User = (typeof USERS)[number];
type Group = (typeof GROUPS)[number];

type CommandSpec =
  | {
      type:
        | 'MarkConversationRead'
        | 'DeleteConversation'
        | 'HideConversation'
        | 'ClearConversation';
    }
  | { type: 'SetDraft'; draftText: string }
  /** Marked unread; with `back`, from the back-th message before the end (fromSeq). */
  | { type: 'MarkConversationUnread'; back?: number }
  | { type: 'ChangeSettings'; settings: Partial<ConversationSettings> };

type Action =
  | {
      kind: 'send';
      from: User;
      to: { user: User } | { group: Group };
      clientMsgID: string;
      at: string[];
      sendTime: number;
    }
  | { kind: 'join' | 'leave'; group: Group; users: User[] }
  | { kind: 'command'; owner: User; target: { user: User } | { group: Group }; spec: CommandSpec }
  | {
      kind: 'folder';
      owner: User;
      folder: Folder;
      op: 'create' | 'rename' | 'add' | 'remove' | 'delete';
      targets: Array<{ user: User } | { group: Group }>;
    };

/** The owners' conversation groups (SPEC §8.1 rule 17): "folders" here, beside chat groups. */
const FOLDERS = ['f1', 'f2'] as const;
type Folder = (typeof FOLDERS)[number];

const user = fc.constantFrom(...USERS);
const group = fc.constantFrom(...GROUPS);
const target = fc.oneof(fc.record({ user }), fc.record({ group }));
const commandSpec: fc.Arbitrary<CommandSpec> = fc.oneof(
  fc.constantFrom(
    { type: 'MarkConversationRead' } as const,
    { type: 'DeleteConversation' } as const,
    { type: 'HideConversation' } as const,
    { type: 'ClearConversation' } as const,
  ),
  fc.record({ type: fc.constant('SetDraft' as const), draftText: fc.constantFrom('', 'x', 'yy') }),
  fc.record(
    { type: fc.constant('MarkConversationUnread' as const), back: fc.integer({ min: 0, max: 4 }) },
    { requiredKeys: ['type'] },
  ),
  fc.record({
    type: fc.constant('ChangeSettings' as const),
    settings: fc.record(
      {
        isPinned: fc.boolean(),
        recvMsgOpt: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
        groupAtType: fc.constantFrom(0, 4) as fc.Arbitrary<0 | 4>,
        ex: fc.constantFrom('', 'e'),
      },
      { requiredKeys: [] },
    ),
  }),
);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      from: user,
      to: target,
      // A small pool, so that retries of one clientMsgID happen.
      clientMsgID: fc.integer({ min: 1, max: 25 }).map((n) => `m${n}`),
      at: fc.subarray([...USERS, AT_ALL_TAG]),
      sendTime: fc.integer({ min: T0, max: T0 + 1_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('join' as const, 'leave' as const),
      group,
      users: fc.subarray([...USERS], { minLength: 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('command' as const),
      owner: user,
      target,
      spec: commandSpec,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('folder' as const),
      owner: user,
      folder: fc.constantFrom(...FOLDERS),
      op: fc.constantFrom('create', 'rename', 'add', 'remove', 'delete') as fc.Arbitrary<
        'create' | 'rename' | 'add' | 'remove' | 'delete'
      >,
      targets: fc.array(target, { maxLength: 3 }),
    }),
  },
);
/** Half the programs start with everyone in g1, so that group rules meet often. */
const program = fc
  .tuple(fc.boolean(), fc.array(action, { maxLength: 40 }))
  .map(([together, actions]): Action[] =>
    together ? [{ kind: 'join', group: 'g1', users: [...USERS] }, ...actions] : actions,
  );
/** Programs are cheap and the state space is wide: more runs than fast-check's default 100. */
const RUNS = { numRuns: 300 };

const key = (owner: string, conversationID: string) => `${owner} ${conversationID}`;
const conversationOf = (event: ConversationEvent) =>
  event.type === 'GroupMembersJoined' || event.type === 'GroupMembersLeft'
    ? groupConversationID(event.data.groupID)
    : 'conversationID' in event.data
      ? event.data.conversationID
      : '';

/** The reference an owner's conversation is checked against: a plain counter, not seqs. */
interface Expected {
  unread: number;
  listed: boolean;
  /** Marked unread: counts at least 1 in the total until read. */
  marked?: boolean;
}

interface Hooks {
  /** After every action, with the rows before it. */
  step?: (world: World, before: ReadonlyMap<string, ConversationState>, action: Action) => void;
  /** After an owner command's events are applied. */
  command?: (world: World, command: OwnerCommand) => void;
}

type World = ReturnType<typeof createWorld>;

/**
 * The engine in memory: deciders on the streams' state, then evolve on every row an event reaches
 * (a group message reaches every row of its conversation, as the projector does); beside it, the
 * reference counters of what each owner should see.
 */
const createWorld = () => {
  const rows = new Map<string, ConversationState>();
  const expected = new Map<string, Expected>();
  const maxSeqs = new Map<string, number>();
  const clientMsgIDs = new Map<string, number>();
  const members = new Map<string, Set<string>>();
  /** The folders' fields as their events left them, and the reference of who is in each. */
  const folders = new Map<string, Map<string, ConversationGroupFields>>();
  const inFolders = new Map<string, Map<string, { name: string; ids: Set<string> }>>();
  const log: ConversationEvent[] = [];
  let now = T0 + 10_000;

  const apply = (event: ConversationEvent) => {
    log.push(event);
    if (isConversationGroupDefinition(event)) {
      const own = folders.get(event.data.owner) ?? new Map<string, ConversationGroupFields>();
      folders.set(event.data.owner, own);
      if (event.type === 'ConversationGroupDeleted') own.delete(event.data.conversationGroupID);
      else {
        const { name, order, ex } = event.data;
        own.set(event.data.conversationGroupID, { name, order, ex });
      }
      return;
    }
    const conversationID = conversationOf(event);
    const owners =
      event.type === 'MessageRecorded' && event.data.conversationType === 3
        ? [...rows.values()].filter((r) => r.conversationID === conversationID).map((r) => r.owner)
        : namedOwners(event);
    for (const owner of owners) {
      const next = evolve(rows.get(key(owner, conversationID)), event, owner);
      if (next) rows.set(key(owner, conversationID), next);
    }
  };
  const membersOf = (groupID: string) => {
    const set = members.get(groupID) ?? new Set<string>();
    members.set(groupID, set);
    return set;
  };
  const conversationFor = (owner: string, to: { user: string } | { group: string }) =>
    'group' in to ? groupConversationID(to.group) : singleConversationID(owner, to.user);

  const send = (a: Extract<Action, { kind: 'send' }>) => {
    const groupID = 'group' in a.to ? a.to.group : '';
    const recvID = 'user' in a.to ? a.to.user : '';
    if (groupID !== '' && !membersOf(groupID).has(a.from)) return;
    const conversationID = conversationFor(a.from, a.to);
    const maxSeq = maxSeqs.get(conversationID) ?? 0;
    const known = clientMsgIDs.get(key(conversationID, a.clientMsgID));
    const decision = decideRecordMessage(
      {
        clientMsgID: a.clientMsgID,
        serverMsgID: '',
        sendID: a.from,
        recvID,
        groupID,
        sessionType: groupID === '' ? 1 : 3,
        contentType: 101,
        content: 'hi',
        sendTime: a.sendTime,
        atUserIDList: a.at,
      },
      { maxSeq, duplicateSeq: known },
    );
    if (!decision.ok) throw new Error(decision.error.message);
    if (known !== undefined) {
      expect(decision.value).toEqual({ duplicate: true, seq: known, events: [] });
      return;
    }
    expect(decision.value.seq).toBe(maxSeq + 1);
    maxSeqs.set(conversationID, decision.value.seq);
    clientMsgIDs.set(key(conversationID, a.clientMsgID), decision.value.seq);
    for (const event of decision.value.events) apply(event);

    const receivers = groupID === '' ? [...new Set([a.from, recvID])] : [...membersOf(groupID)];
    for (const owner of receivers) {
      const reference = expected.get(key(owner, conversationID)) ?? { unread: 0, listed: true };
      expected.set(key(owner, conversationID), {
        unread: owner === a.from ? 0 : reference.unread + 1,
        listed: true,
        marked: owner !== a.from && reference.marked,
      });
    }
  };

  const membership = (a: Extract<Action, { kind: 'join' | 'leave' }>) => {
    const conversationID = groupConversationID(a.group);
    const current = membersOf(a.group);
    const state = { members: current, maxSeq: maxSeqs.get(conversationID) ?? 0 };
    const command = { groupID: a.group, userIDs: a.users };
    const events =
      a.kind === 'join' ? decideJoinGroup(command, state) : decideLeaveGroup(command, state);
    for (const event of events) {
      apply(event);
      for (const owner of event.data.userIDs) {
        if (a.kind === 'leave') {
          current.delete(owner);
          continue;
        }
        current.add(owner);
        // A join, first or again, shows only what comes after it (minSeq = maxSeq + 1).
        const reference = expected.get(key(owner, conversationID));
        expected.set(key(owner, conversationID), {
          unread: 0,
          listed: reference?.listed ?? false,
          marked: reference?.marked,
        });
      }
    }
  };

  const ownerCommand = (a: Extract<Action, { kind: 'command' }>, hooks: Hooks) => {
    const conversationID = conversationFor(a.owner, a.target);
    const before = rows.get(key(a.owner, conversationID));
    const command = ownerCommandOf(a.spec, a.owner, conversationID, before);
    now += 1_000;
    const decision = decideOwnerCommand(command, before, now);
    if (!before) {
      expect(decision).toMatchObject({ ok: false, error: { code: 404 } });
      return;
    }
    const spec = a.spec;
    if (spec.type === 'MarkConversationUnread' && spec.back !== undefined) {
      // From a message the owner cannot see: refused, naming fromSeq, and nothing changes.
      const fromSeq = before.maxSeq - spec.back + 1;
      if (fromSeq < before.minSeq || fromSeq > before.maxSeq) {
        expect(decision).toMatchObject({ ok: false, error: { code: 400 } });
        expect(decision.ok || decision.error.message.startsWith('fromSeq:')).toBe(true);
        return;
      }
    }
    if (!decision.ok) throw new Error(decision.error.message);
    for (const event of decision.value) apply(event);
    hooks.command?.(world, command);

    const reference = expected.get(key(a.owner, conversationID));
    if (!reference) throw new Error(`no reference for ${a.owner} ${conversationID}`);
    if (spec.type === 'MarkConversationRead' || spec.type === 'ClearConversation') {
      reference.unread = 0;
      reference.marked = false;
    } else if (spec.type === 'MarkConversationUnread') {
      if (spec.back === undefined) reference.marked = true;
      else {
        reference.unread = spec.back;
        reference.marked = false;
      }
    } else if (spec.type === 'DeleteConversation') {
      reference.unread = 0;
      reference.marked = false;
      reference.listed = false;
    } else if (spec.type === 'HideConversation') {
      reference.listed = false;
    } else if (spec.type === 'SetDraft' && spec.draftText !== '') {
      reference.listed = true;
    }
  };

  const folderAction = (a: Extract<Action, { kind: 'folder' }>) => {
    const ids = [...new Set(a.targets.map((to) => conversationFor(a.owner, to)))];
    const command: ConversationGroupCommand =
      a.op === 'create'
        ? {
            type: 'CreateConversationGroup',
            owner: a.owner,
            conversationGroupID: a.folder,
            name: a.folder,
            order: 0,
            ex: '',
            conversationIDs: ids,
          }
        : a.op === 'rename'
          ? {
              type: 'UpdateConversationGroup',
              owner: a.owner,
              conversationGroupID: a.folder,
              name: `${a.folder}+`,
            }
          : a.op === 'delete'
            ? { type: 'DeleteConversationGroup', owner: a.owner, conversationGroupID: a.folder }
            : {
                type: a.op === 'add' ? 'AddConversationsToGroup' : 'RemoveConversationsFromGroup',
                owner: a.owner,
                conversationGroupID: a.folder,
                conversationIDs: ids,
              };
    const own = world.rowsOf(a.owner);
    const state = {
      groups: folders.get(a.owner) ?? new Map(),
      conversations: new Map(
        own
          .filter((r) =>
            a.op === 'delete'
              ? r.conversationGroupIDs.includes(a.folder)
              : ids.includes(r.conversationID),
          )
          .map((r) => [r.conversationID, r.conversationGroupIDs]),
      ),
    };
    const decision = decideConversationGroupCommand(command, state);
    // The reference: what each operation means, from the actions alone.
    const reference =
      inFolders.get(a.owner) ?? new Map<string, { name: string; ids: Set<string> }>();
    inFolders.set(a.owner, reference);
    const known = ids.every((id) => rows.has(key(a.owner, id)));
    const folder = reference.get(a.folder);
    const refused =
      a.op === 'create'
        ? !known ||
          (folder !== undefined &&
            (folder.name !== a.folder || ids.some((id) => !folder.ids.has(id))))
        : a.op === 'rename'
          ? !folder
          : a.op === 'delete'
            ? false
            : !folder || !known;
    expect({ op: a.op, refused: !decision.ok }).toEqual({ op: a.op, refused });
    if (!refused) {
      if (a.op === 'create' && !folder)
        reference.set(a.folder, { name: a.folder, ids: new Set(ids) });
      if (a.op === 'rename' && folder) folder.name = `${a.folder}+`;
      if (a.op === 'delete') reference.delete(a.folder);
      for (const id of ids) {
        if (a.op === 'add') folder?.ids.add(id);
        if (a.op === 'remove') folder?.ids.delete(id);
      }
    }
    if (decision.ok) for (const event of decision.value) apply(event);
  };

  const world = {
    rows,
    expected,
    inFolders,
    log,
    now: () => now,
    run(actions: readonly Action[], hooks: Hooks = {}) {
      for (const a of actions) {
        const before = new Map(rows);
        if (a.kind === 'send') send(a);
        else if (a.kind === 'command') ownerCommand(a, hooks);
        else if (a.kind === 'folder') folderAction(a);
        else membership(a);
        hooks.step?.(world, before, a);
      }
      return world;
    },
    rowsOf: (owner: string) => [...rows.values()].filter((r) => r.owner === owner),
  };
  return world;
};

/** The command a spec gives, its seqs as a caller reading the item would choose them. */
const ownerCommandOf = (
  spec: CommandSpec,
  owner: string,
  conversationID: string,
  state: ConversationState | undefined,
): OwnerCommand => {
  if (spec.type !== 'MarkConversationUnread')
    return { ...spec, owner, conversationID } as OwnerCommand;
  return spec.back === undefined
    ? { type: 'MarkConversationUnread', owner, conversationID }
    : {
        type: 'MarkConversationUnread',
        owner,
        conversationID,
        fromSeq: (state?.maxSeq ?? 0) - spec.back + 1,
      };
};

const latestSeq = (state: ConversationState) =>
  state.latestMsg === '' ? 0 : (JSON.parse(state.latestMsg) as { seq: number }).seq;

describe('property: unread from seqs', () => {
  it('is never negative, equals the formula and the count of messages the owner has not seen', () => {
    fc.assert(
      fc.property(program, (actions) => {
        createWorld().run(actions, {
          step: (world) => {
            for (const [k, state] of world.rows) {
              const unread = toItem(state).unreadCount;
              expect(unread).toBeGreaterThanOrEqual(0);
              expect(unread).toBe(
                Math.max(0, state.maxSeq - Math.max(state.hasReadSeq, state.minSeq - 1)),
              );
              expect(unread).toBe(unreadCount(state));
              expect({ k, unread }).toEqual({ k, unread: world.expected.get(k)?.unread });
            }
          },
        });
      }),
      RUNS,
    );
  });

  it("gives each owner a total that is the sum of the listed, not muted conversations' unread", () => {
    fc.assert(
      fc.property(program, (actions) => {
        createWorld().run(actions, {
          step: (world) => {
            for (const owner of USERS) {
              const rows = world.rowsOf(owner);
              const expectedTotal = rows
                .filter((r) => world.expected.get(key(owner, r.conversationID))?.listed)
                .filter((r) => r.recvMsgOpt === 0)
                .reduce((sum, r) => {
                  const reference = world.expected.get(key(owner, r.conversationID));
                  const unread = reference?.unread ?? 0;
                  // A conversation marked unread counts as at least 1 (SPEC §8.1 rule 18).
                  return sum + (reference?.marked ? Math.max(unread, 1) : unread);
                }, 0);
              expect(totalUnread(rows)).toBe(expectedTotal);
              expect(totalUnread(rows)).toBe(
                rows
                  .map(toItem)
                  .filter((item) => !item.isHidden && item.recvMsgOpt === 0)
                  .reduce(
                    (sum, item) =>
                      sum +
                      (item.isMarkedUnread ? Math.max(item.unreadCount, 1) : item.unreadCount),
                    0,
                  ),
              );
            }
          },
        });
      }),
      RUNS,
    );
  });

  it('never moves maxSeq or minSeq backwards, nor hasReadSeq but to mark unread from a message', () => {
    fc.assert(
      fc.property(program, (actions) => {
        createWorld().run(actions, {
          step: (world, before, action) => {
            // SPEC §8.1 rule 18: marking unread from a message is the one way back.
            const markedFrom =
              action.kind === 'command' &&
              action.spec.type === 'MarkConversationUnread' &&
              action.spec.back !== undefined;
            for (const [k, was] of before) {
              const now = world.rows.get(k);
              expect(now).toBeDefined();
              expect(now?.maxSeq).toBeGreaterThanOrEqual(was.maxSeq);
              expect(now?.minSeq).toBeGreaterThanOrEqual(was.minSeq);
              if (!markedFrom) expect(now?.hasReadSeq).toBeGreaterThanOrEqual(was.hasReadSeq);
            }
          },
        });
      }),
      RUNS,
    );
  });

  it('lists a conversation exactly when the rules say, latestMsg and @ flags consistent with it', () => {
    fc.assert(
      fc.property(program, (actions) => {
        createWorld().run(actions, {
          step: (world) => {
            for (const [k, state] of world.rows) {
              expect({ k, isHidden: state.isHidden }).toEqual({
                k,
                isHidden: !world.expected.get(k)?.listed,
              });
              expect(latestSeq(state)).toBeLessThanOrEqual(state.maxSeq);
              if (state.latestMsg !== '') expect(latestSeq(state)).toBe(state.latestMsgSeq);
              expect([0, 1, 2, 3, 4]).toContain(state.groupAtType);
              // An @ badge points at something unread (setConversation here only sets 0 or 4).
              if ([1, 2, 3].includes(state.groupAtType)) {
                expect({ k, unread: unreadCount(state) }).not.toEqual({ k, unread: 0 });
              }
              if (!state.isNotInGroup && state.maxSeq >= state.minSeq) {
                expect(latestSeq(state)).toBe(state.maxSeq);
              }
            }
          },
        });
      }),
      RUNS,
    );
  });
});

describe('property: conversation groups (SPEC §8.1 rule 17)', () => {
  it('hold the conversations their commands put in, and count exactly the rule’s sums', () => {
    fc.assert(
      fc.property(program, (actions) => {
        createWorld().run(actions, {
          step: (world) => {
            for (const owner of USERS) {
              const rows = world.rowsOf(owner);
              const reference = world.inFolders.get(owner) ?? new Map();
              // Each conversation is in the groups that hold it, sorted.
              for (const row of rows) {
                const holding = FOLDERS.filter((f) =>
                  reference.get(f)?.ids.has(row.conversationID),
                );
                expect({ id: row.conversationID, in: row.conversationGroupIDs }).toEqual({
                  id: row.conversationID,
                  in: holding,
                });
              }
              // Counts: listed members, and what the listed, not muted ones add (marked ≥ 1).
              for (const [folder, { ids }] of reference) {
                let listed = 0;
                let unread = 0;
                for (const id of ids) {
                  const r = world.expected.get(key(owner, id));
                  const row = world.rows.get(key(owner, id));
                  if (!r?.listed || !row) continue;
                  listed += 1;
                  if (row.recvMsgOpt === 0) unread += r.marked ? Math.max(r.unread, 1) : r.unread;
                }
                expect({ folder, ...conversationGroupCounts(rows, folder) }).toEqual({
                  folder,
                  conversationCount: listed,
                  unreadCount: unread,
                });
              }
            }
          },
        });
      }),
      RUNS,
    );
  });
});

describe('property: replaying an owner command', () => {
  it('changes nothing the second time: the second decide is []', () => {
    fc.assert(
      fc.property(program, (actions) => {
        createWorld().run(actions, {
          command: (world, command) => {
            const after = world.rows.get(key(command.owner, command.conversationID));
            expect(decideOwnerCommand(command, after, world.now() + 500)).toEqual({
              ok: true,
              value: [],
            });
          },
        });
      }),
      RUNS,
    );
  });

  it('decides events exactly when they change the state', () => {
    fc.assert(
      fc.property(program, commandSpec, user, target, (actions, spec, owner, to) => {
        const world = createWorld().run(actions);
        const conversationID =
          'group' in to ? groupConversationID(to.group) : singleConversationID(owner, to.user);
        const state = world.rows.get(key(owner, conversationID));
        const command = { ...spec, owner, conversationID } as OwnerCommand;
        const decision = decideOwnerCommand(command, state, world.now() + 1);
        if (!state) {
          expect(decision).toMatchObject({ ok: false, error: { code: 404 } });
          return;
        }
        if (!decision.ok) throw new Error(decision.error.message);
        const after = decision.value.reduce<ConversationState | undefined>(
          (s, event) => evolve(s, event, owner),
          state,
        );
        expect(decision.value.length > 0).toBe(differs(state, after));
        expect(decideOwnerCommand(command, after, world.now() + 2)).toEqual({
          ok: true,
          value: [],
        });
      }),
      RUNS,
    );
  });
});

describe('property: interleaving reads and messages', () => {
  type Chat = 'group' | 'single';
  /** Who is in the chat from the start; in the group, dan may join later. */
  const firstMembers = (chat: Chat): readonly User[] =>
    chat === 'group' ? ['ann', 'ben', 'cat'] : ['ann', 'ben'];
  const people = (chat: Chat): readonly User[] => (chat === 'group' ? USERS : ['ann', 'ben']);
  const toChat = (chat: Chat, from: User) =>
    chat === 'group'
      ? { group: 'g1' as const }
      : { user: from === 'ann' ? 'ben' : ('ann' as User) };

  /** Messages into one conversation and reads by its members, in the order given. */
  const chatActions = (chat: Chat, { lateJoin }: { lateJoin: boolean }) => {
    const everyone = lateJoin ? people(chat) : firstMembers(chat);
    const send = fc.record({ from: fc.constantFrom(...everyone), n: fc.nat() }).map(
      ({ from, n }): Action => ({
        kind: 'send',
        from,
        to: toChat(chat, from),
        clientMsgID: `m${n}`,
        at: n % 3 === 0 ? ['cat'] : [],
        sendTime: T0 + (n % 7),
      }),
    );
    const read = fc.constantFrom(...everyone).map(
      (owner): Action => ({
        kind: 'command',
        owner,
        target: toChat(chat, owner),
        spec: { type: 'MarkConversationRead' },
      }),
    );
    const join: Action = { kind: 'join', group: 'g1', users: ['dan'] };
    const steps =
      lateJoin && chat === 'group'
        ? fc.oneof(
            { weight: 5, arbitrary: send },
            { weight: 4, arbitrary: read },
            fc.constant(join),
          )
        : fc.oneof(send, read);
    return fc.array(steps, { maxLength: 30 });
  };
  const setUp = (chat: Chat): Action[] =>
    chat === 'group' ? [{ kind: 'join', group: 'g1', users: [...firstMembers(chat)] }] : [];
  const conversationID = (chat: Chat) => (chat === 'group' ? 'sg_g1' : 'si_ann_ben');

  /**
   * Unread per person, counted from the actions alone: messages of others since they joined, read
   * or wrote last. A message from someone not in the chat is not recorded.
   */
  const countFromActions = (chat: Chat, actions: readonly Action[]) => {
    const unread = new Map<string, number>(people(chat).map((p) => [p, 0]));
    const inside = new Set<string>(firstMembers(chat));
    const seen = new Set<string>();
    for (const a of actions) {
      if (a.kind === 'join') for (const p of a.users) inside.add(p);
      if (a.kind === 'command') unread.set(a.owner, 0);
      if (a.kind !== 'send' || !inside.has(a.from) || seen.has(a.clientMsgID)) continue;
      seen.add(a.clientMsgID);
      for (const p of inside) unread.set(p, p === a.from ? 0 : (unread.get(p) ?? 0) + 1);
    }
    return unread;
  };

  const chats = fc.constantFrom<Chat>('group', 'single');
  const view = (state: ConversationState | undefined) =>
    state && {
      unread: unreadCount(state),
      maxSeq: state.maxSeq,
      minSeq: state.minSeq,
      hasReadSeq: state.hasReadSeq,
      latestMsg: state.latestMsg,
      isHidden: state.isHidden,
    };

  /** The log in an order where a read still follows the message it read up to; joins first. */
  const reorder = (log: readonly ConversationEvent[], random: readonly number[]) => {
    const rankOfSeq = new Map<number, number>();
    const ranked = log.map((event, index) => {
      const r = random[index % random.length] ?? 0;
      if (event.type === 'MessageRecorded') rankOfSeq.set(event.data.message.seq, r);
      return { event, index, r };
    });
    const rank = ({ event, r }: (typeof ranked)[number]) => {
      if (event.type === 'MessageRecorded') return r;
      if (event.type === 'ConversationMarkedRead') {
        return (rankOfSeq.get(event.data.hasReadSeq) ?? 0) + 1 + (r % 5);
      }
      return -1;
    };
    return ranked.sort((a, b) => rank(a) - rank(b) || a.index - b.index).map(({ event }) => event);
  };

  it('ends in the counts the actions give, and any valid reordering of the log ends the same', () => {
    fc.assert(
      fc.property(
        chats.chain((chat) =>
          fc.tuple(
            fc.constant(chat),
            chatActions(chat, { lateJoin: true }),
            fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
          ),
        ),
        ([chat, actions, random]) => {
          const world = createWorld().run([...setUp(chat), ...actions]);
          const cid = conversationID(chat);
          const counts = countFromActions(chat, actions);
          for (const p of people(chat)) {
            const row = world.rows.get(key(p, cid));
            expect({ p, unread: row ? unreadCount(row) : 0 }).toEqual({ p, unread: counts.get(p) });
          }

          // Messages in any order too, as if applied out of seq order: the same counts and latestMsg.
          const replayed = new Map<string, ConversationState>();
          for (const event of reorder(world.log, random)) {
            const owners =
              event.type === 'MessageRecorded' && event.data.conversationType === 3
                ? [...replayed.values()].map((r) => r.owner)
                : namedOwners(event);
            for (const owner of owners) {
              const next = evolve(replayed.get(key(owner, cid)), event, owner);
              if (next) replayed.set(key(owner, cid), next);
            }
          }
          for (const p of people(chat)) {
            expect({ p, state: view(replayed.get(key(p, cid))) }).toEqual({
              p,
              state: view(world.rows.get(key(p, cid))),
            });
          }
        },
      ),
    );
  });

  it('ends in the same state after everyone reads, whatever the order of the same actions', () => {
    fc.assert(
      fc.property(
        chats.chain((chat) =>
          chatActions(chat, { lateJoin: false }).chain((actions) =>
            fc.tuple(
              fc.constant(chat),
              fc.constant(actions),
              fc.shuffledSubarray(actions, {
                minLength: actions.length,
                maxLength: actions.length,
              }),
            ),
          ),
        ),
        ([chat, actions, shuffled]) => {
          const cid = conversationID(chat);
          const members = firstMembers(chat);
          const finalState = (order: readonly Action[]) => {
            const world = createWorld().run([...setUp(chat), ...order]);
            const owners = members.filter((p) => world.rows.has(key(p, cid)));
            // Before the final read: the total is the sum of what each member has not seen.
            const total = owners.reduce((sum, p) => sum + totalUnread(world.rowsOf(p)), 0);
            const counts = countFromActions(chat, order);
            expect(total).toBe(members.reduce((sum, p) => sum + (counts.get(p) ?? 0), 0));
            world.run(
              owners.map((owner) => ({
                kind: 'command',
                owner,
                target: toChat(chat, owner),
                spec: { type: 'MarkConversationRead' },
              })),
            );
            return members.map((p) => {
              const row = world.rows.get(key(p, cid));
              return (
                row && {
                  owner: p,
                  unread: unreadCount(row),
                  total: totalUnread(world.rowsOf(p)),
                  maxSeq: row.maxSeq,
                  hasReadSeq: row.hasReadSeq,
                  groupAtType: row.groupAtType,
                  isHidden: row.isHidden,
                }
              );
            });
          };
          const first = finalState(actions);
          expect(finalState(shuffled)).toEqual(first);
          const sent = new Set(actions.flatMap((a) => (a.kind === 'send' ? [a.clientMsgID] : [])));
          for (const row of first) {
            if (!row) continue;
            expect(row).toMatchObject({
              unread: 0,
              total: 0,
              maxSeq: sent.size,
              hasReadSeq: sent.size,
              groupAtType: 0,
            });
          }
        },
      ),
    );
  });
});
