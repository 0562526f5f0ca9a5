import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import {
  decideJoinGroup,
  decideLeaveGroup,
  decideOwnerCommand,
  decideRecordMessage,
  type OwnerCommand,
} from './decide.ts';
import type { ConversationEvent } from './events.ts';
import { AT_ALL_TAG, differs, evolve, namedOwners } from './evolve.ts';
import { deriveMember, evolveGroup, type GroupState } from './group.ts';
import { T0 } from './test-fixtures.ts';
import { toItem } from './unread.ts';

const GROUP = 'g';
const CONVERSATION = 'sg_g';
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];

/**
 * The two models of one group side by side, fed the same events in the same order:
 * - naive: every member row evolves on every event that reaches it (a group message reaches
 *   every row), as the engine did before group rows;
 * - rows: the group's row, and member rows changed only by the events that name them, every other
 *   member's view derived from the group's row.
 * Each event gets the next version, as the projector numbers them.
 */
const models = () => {
  const naive = new Map<string, ConversationState>();
  const rows = new Map<string, ConversationState>();
  let group: GroupState | undefined;
  let version = 0;
  const members = new Set<string>();
  let maxSeq = 0;

  const apply = (event: ConversationEvent) => {
    version += 1;
    const reachesAll = event.type === 'MessageRecorded' && event.data.conversationType === 3;
    for (const owner of reachesAll ? [...naive.keys()] : namedOwners(event)) {
      const before = naive.get(owner);
      const after = evolve(before, event, owner);
      if (after && differs(before, after)) naive.set(owner, { ...after, version });
    }
    const before = group;
    if (event.type === 'MessageRecorded') group = evolveGroup(group, event, version);
    for (const owner of namedOwners(event)) {
      const row = rows.get(owner);
      const current = row && deriveMember(row, before);
      const after = evolve(current, event, owner);
      if (after && differs(current, after)) rows.set(owner, { ...after, version });
    }
  };

  return {
    view: (owner: string) => {
      const row = rows.get(owner);
      return row && deriveMember(row, group);
    },
    naive: (owner: string) => naive.get(owner),
    join(userIDs: string[]) {
      for (const event of decideJoinGroup({ groupID: GROUP, userIDs }, { members, maxSeq })) {
        apply(event);
        for (const id of event.data.userIDs) members.add(id);
      }
    },
    leave(userIDs: string[]) {
      for (const event of decideLeaveGroup({ groupID: GROUP, userIDs }, { members, maxSeq })) {
        apply(event);
        for (const id of event.data.userIDs) members.delete(id);
      }
    },
    send(sendID: string, atUserIDList: string[]) {
      const decided = decideRecordMessage(
        {
          clientMsgID: `c${maxSeq + 1}`,
          serverMsgID: '',
          sendID,
          recvID: '',
          groupID: GROUP,
          sessionType: 3,
          contentType: 101,
          content: `message ${maxSeq + 1}`,
          sendTime: T0 + ((maxSeq * 7919) % 1000),
          atUserIDList,
        },
        { maxSeq, duplicateSeq: undefined },
      );
      if (!decided.ok) throw new Error(decided.error.message);
      maxSeq = decided.value.seq;
      for (const event of decided.value.events) apply(event);
    },
    /** An owner command, decided on the owner's view as the engine decides it. */
    command(owner: string, make: (owner: string) => OwnerCommand, now: number) {
      const decided = decideOwnerCommand(make(owner), this.view(owner), now);
      if (decided.ok) for (const event of decided.value) apply(event);
    },
  };
};

type Step =
  | { kind: 'join'; users: string[] }
  | { kind: 'leave'; users: string[] }
  | { kind: 'send'; sender: string; mentions: string[] }
  | { kind: 'command'; owner: string; command: number };

/** Every owner command of SPEC §3 that applies to a group conversation. */
const commands: Array<(owner: string) => OwnerCommand> = [
  (owner) => ({ type: 'MarkConversationRead', owner, conversationID: CONVERSATION }),
  (owner) => ({ type: 'DeleteConversation', owner, conversationID: CONVERSATION }),
  (owner) => ({ type: 'HideConversation', owner, conversationID: CONVERSATION }),
  (owner) => ({ type: 'ClearConversation', owner, conversationID: CONVERSATION }),
  (owner) => ({ type: 'SetDraft', owner, conversationID: CONVERSATION, draftText: 'draft' }),
  (owner) => ({ type: 'SetDraft', owner, conversationID: CONVERSATION, draftText: '' }),
  (owner) => ({
    type: 'ChangeSettings',
    owner,
    conversationID: CONVERSATION,
    settings: { recvMsgOpt: 2, isPinned: true },
  }),
  (owner) => ({
    type: 'ChangeSettings',
    owner,
    conversationID: CONVERSATION,
    settings: { groupAtType: 4 },
  }),
  // SPEC §8.1 rules 18 and 19 (a fromSeq out of the owner's range is refused: nothing happens).
  (owner) => ({ type: 'MarkConversationUnread', owner, conversationID: CONVERSATION }),
  (owner) => ({ type: 'MarkConversationUnread', owner, conversationID: CONVERSATION, fromSeq: 3 }),
  (owner) => ({ type: 'MarkConversationRead', owner, conversationID: CONVERSATION, upToSeq: 4 }),
];

const user = fc.constantFrom(...USERS);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      users: fc.uniqueArray(user, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('leave' as const),
      users: fc.uniqueArray(user, { minLength: 1, maxLength: 2 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      sender: user,
      mentions: fc.uniqueArray(fc.constantFrom(...USERS, AT_ALL_TAG, 'stranger'), { maxLength: 3 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('command' as const),
      owner: user,
      command: fc.nat(commands.length - 1),
    }),
  },
);

describe('a group kept in one row with its members’ own rows', () => {
  it('gives every member the same view as evolving every member row on every message', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const group = models();
        steps.forEach((s, i) => {
          if (s.kind === 'join') group.join(s.users);
          else if (s.kind === 'leave') group.leave(s.users);
          else if (s.kind === 'send') group.send(s.sender, s.mentions);
          else
            group.command(
              s.owner,
              commands[s.command] as (owner: string) => OwnerCommand,
              T0 + 10_000 + i,
            );
          for (const owner of USERS) {
            const naive = group.naive(owner);
            const view = group.view(owner);
            expect(view && toItem(view), `${owner} after step ${i}`).toEqual(
              naive && toItem(naive),
            );
          }
        });
      }),
      { numRuns: 400 },
    );
  });
});
