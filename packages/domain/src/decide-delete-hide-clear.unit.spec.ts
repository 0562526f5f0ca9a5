import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import type { MessageRecorded } from './events.ts';
import { AT_ALL_TAG, namedOwners } from './evolve.ts';
import { listPosition } from './order.ts';
import { apply, singleMessage as message, runOwner, T0 } from './test-fixtures.ts';
import { toItem, unreadContribution } from './unread.ts';

const run = runOwner;

const alice = { owner: 'alice', conversationID: 'si_alice_bob' };
const latestSeq = (state: ConversationState) =>
  state.latestMsg === '' ? 0 : (JSON.parse(state.latestMsg) as { seq: number }).seq;

/**
 * Both views of si_alice_bob after bob sent three messages, where alice had also pinned it, muted
 * it (recvMsgOpt 2), and left a draft.
 */
const furnished = () => {
  let a: ConversationState | undefined;
  let b: ConversationState | undefined;
  for (const seq of [1, 2, 3]) {
    a = apply(a, message(seq, 'bob', 'alice'), 'alice');
    b = apply(b, message(seq, 'bob', 'alice'), 'bob');
  }
  if (!a || !b) throw new Error('unreachable');
  a = run(a, {
    type: 'ChangeSettings',
    ...alice,
    settings: { isPinned: true, recvMsgOpt: 2 },
  }).state;
  a = run(a, { type: 'SetDraft', ...alice, draftText: 'half a thought' }).state;
  return { alice: a, bob: b };
};

/** alice's chat with three unread messages from bob, nothing else set. */
const plain = () => {
  let state: ConversationState | undefined;
  for (const seq of [1, 2, 3]) state = apply(state, message(seq, 'bob', 'alice'), 'alice');
  if (!state) throw new Error('unreachable');
  return state;
};

describe('rule 6: delete', () => {
  it('takes the conversation out of the list, clears history, unread, draft and pin', () => {
    const { alice: before } = furnished();
    const { events, state } = run(before, { type: 'DeleteConversation', ...alice });
    expect(events).toEqual([{ type: 'ConversationDeleted', data: { ...alice, minSeq: 4 } }]);
    expect(state).toMatchObject({
      isHidden: true,
      minSeq: 4,
      latestMsg: '',
      draftText: '',
      draftTextTime: 0,
      isPinned: false,
      recvMsgOpt: 2,
    });
    expect(toItem(state).unreadCount).toBe(0);
  });

  it('clears @ flags with the history', () => {
    const group: MessageRecorded = {
      type: 'MessageRecorded',
      data: {
        conversationID: 'sg_team',
        conversationType: 3,
        message: { ...message(1, 'bob', '').data.message, groupID: 'team', sessionType: 3 },
        atUserIDList: [AT_ALL_TAG],
      },
    };
    const joined = apply(
      undefined,
      { type: 'GroupMembersJoined', data: { groupID: 'team', userIDs: ['alice'], maxSeq: 0 } },
      'alice',
    );
    const mentioned = apply(joined, group, 'alice');
    expect(mentioned.groupAtType).toBe(2);
    const deleted = run(mentioned, {
      type: 'DeleteConversation',
      owner: 'alice',
      conversationID: 'sg_team',
    }).state;
    expect(deleted.groupAtType).toBe(0);
  });

  it("touches the owner's view only", () => {
    const { alice: before, bob } = furnished();
    const { events } = run(before, { type: 'DeleteConversation', ...alice });
    for (const event of events) expect(namedOwners(event)).toEqual(['alice']);
    expect(toItem(bob).unreadCount).toBe(0);
    expect(bob.latestMsg).not.toBe('');
  });

  it('comes back with the next message, showing only the new messages', () => {
    const deleted = run(furnished().alice, { type: 'DeleteConversation', ...alice }).state;
    const back = apply(deleted, message(4, 'bob', 'alice'), 'alice');
    expect(back).toMatchObject({ isHidden: false, minSeq: 4, maxSeq: 4, isPinned: false });
    expect(back.recvMsgOpt).toBe(2);
    expect(latestSeq(back)).toBe(4);
    expect(back.latestMsgSendTime).toBe(T0 + 4);
    expect(toItem(back).unreadCount).toBe(1);
  });
});

describe('rule 7: hide', () => {
  it('takes the conversation out of the list and the total, keeping history and unread', () => {
    const { events, state } = run(plain(), { type: 'HideConversation', ...alice });
    expect(events).toEqual([{ type: 'ConversationHidden', data: alice }]);
    expect(state).toMatchObject({ isHidden: true, minSeq: 1 });
    expect(latestSeq(state)).toBe(3);
    expect(toItem(state).unreadCount).toBe(3);
    expect(unreadContribution(state)).toBe(0);
  });

  it('comes back with the next message, old and new unread together', () => {
    const hidden = run(plain(), { type: 'HideConversation', ...alice }).state;
    const back = apply(hidden, message(4, 'bob', 'alice'), 'alice');
    expect(back).toMatchObject({ isHidden: false, minSeq: 1 });
    expect(latestSeq(back)).toBe(4);
    expect(toItem(back).unreadCount).toBe(4);
    expect(unreadContribution(back)).toBe(4);
  });
});

describe('rule 8: clear', () => {
  it('stays in the list at the same place, with latestMsg "", unread 0 and history cleared', () => {
    const before = plain();
    const { events, state } = run(before, { type: 'ClearConversation', ...alice });
    expect(events).toEqual([{ type: 'ConversationCleared', data: { ...alice, minSeq: 4 } }]);
    expect(state).toMatchObject({ isHidden: false, latestMsg: '', minSeq: 4 });
    expect(listPosition(state)).toEqual(listPosition(before));
    expect(toItem(state).unreadCount).toBe(0);
    expect(unreadContribution(state)).toBe(0);
  });

  it('keeps pin, draft and do-not-disturb', () => {
    const cleared = run(furnished().alice, { type: 'ClearConversation', ...alice }).state;
    expect(cleared).toMatchObject({ isPinned: true, recvMsgOpt: 2, draftText: 'half a thought' });
  });

  it('counts only messages after the clear', () => {
    const cleared = run(plain(), { type: 'ClearConversation', ...alice }).state;
    const next = apply(cleared, message(4, 'bob', 'alice'), 'alice');
    expect(latestSeq(next)).toBe(4);
    expect(toItem(next).unreadCount).toBe(1);
  });
});
