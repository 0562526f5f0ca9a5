import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import { compareListPositions, listPosition } from './order.ts';
import { apply, singleMessage as message, NOW, runOwner, T0 } from './test-fixtures.ts';
import { toItem, totalUnread, unreadContribution } from './unread.ts';

/** alice's view of her chat with `peer` after the peer sent `count` messages. */
const chat = (count: number, peer = 'bob'): ConversationState => {
  let state: ConversationState | undefined;
  for (let seq = 1; seq <= count; seq++) state = apply(state, message(seq, peer, 'alice'), 'alice');
  if (!state) throw new Error('a chat needs a message');
  return state;
};

const run = runOwner;

const ids = { owner: 'alice', conversationID: 'si_alice_bob' };

describe('rule 4: mark read', () => {
  it('moves hasReadSeq to maxSeq, so unread and the total drop to 0', () => {
    const before = chat(3);
    expect(unreadContribution(before)).toBe(3);
    const { events, state } = run(before, { type: 'MarkConversationRead', ...ids });
    expect(events).toEqual([{ type: 'ConversationMarkedRead', data: { ...ids, hasReadSeq: 3 } }]);
    expect(state.hasReadSeq).toBe(3);
    expect(toItem(state).unreadCount).toBe(0);
    expect(unreadContribution(state)).toBe(0);
  });

  it('never moves hasReadSeq backwards', () => {
    const read = run(chat(3), { type: 'MarkConversationRead', ...ids }).state;
    const stale = apply(
      read,
      { type: 'ConversationMarkedRead', data: { ...ids, hasReadSeq: 1 } },
      'alice',
    );
    expect(stale.hasReadSeq).toBe(3);
  });

  it('counts only what arrives after the read', () => {
    const read = run(chat(3), { type: 'MarkConversationRead', ...ids }).state;
    const after = apply(read, message(4, 'bob', 'alice'), 'alice');
    expect(toItem(after).unreadCount).toBe(1);
  });

  it('reads every conversation of an owner, leaving a total of 0 (mark all)', () => {
    const states = [chat(3, 'bob'), chat(5, 'carol'), chat(1, 'dave')];
    expect(totalUnread(states)).toBe(9);
    const read = states.map(
      (state) =>
        run(state, {
          type: 'MarkConversationRead',
          owner: 'alice',
          conversationID: state.conversationID,
        }).state,
    );
    expect(totalUnread(read)).toBe(0);
  });
});

describe('rule 5: pin', () => {
  it('moves the conversation to the pinned block above newer ones, and back', () => {
    const older = chat(1, 'bob');
    const newer = chat(2, 'carol');
    expect(compareListPositions(listPosition(older), listPosition(newer))).toBeGreaterThan(0);
    const pinned = run(older, { type: 'ChangeSettings', ...ids, settings: { isPinned: true } });
    expect(pinned.events).toEqual([
      { type: 'ConversationSettingsChanged', data: { ...ids, settings: { isPinned: true } } },
    ]);
    expect(pinned.state.isPinned).toBe(true);
    expect(compareListPositions(listPosition(pinned.state), listPosition(newer))).toBeLessThan(0);
    const unpinned = run(pinned.state, {
      type: 'ChangeSettings',
      ...ids,
      settings: { isPinned: false },
    }).state;
    expect(unpinned.isPinned).toBe(false);
    expect(compareListPositions(listPosition(unpinned), listPosition(newer))).toBeGreaterThan(0);
  });

  it('has no cap on pinned conversations', () => {
    const pinned = Array.from({ length: 120 }, (_, i) => {
      const state = chat(1, `peer${i}`);
      return run(state, {
        type: 'ChangeSettings',
        owner: 'alice',
        conversationID: state.conversationID,
        settings: { isPinned: true },
      }).state;
    });
    expect(pinned.every((state) => state.isPinned)).toBe(true);
  });
});

describe('rule 9: do not disturb', () => {
  it.each([1, 2] as const)(
    'keeps counting unreadCount with recvMsgOpt %i but leaves it out of the total',
    (opt) => {
      const muted = run(chat(3), {
        type: 'ChangeSettings',
        ...ids,
        settings: { recvMsgOpt: opt },
      }).state;
      expect(muted.recvMsgOpt).toBe(opt);
      expect(toItem(muted).unreadCount).toBe(3);
      const more = apply(muted, message(4, 'bob', 'alice'), 'alice');
      expect(toItem(more).unreadCount).toBe(4);
      expect(totalUnread([more, chat(2, 'carol')])).toBe(2);
      const unmuted = run(more, {
        type: 'ChangeSettings',
        ...ids,
        settings: { recvMsgOpt: 0 },
      }).state;
      expect(totalUnread([unmuted, chat(2, 'carol')])).toBe(6);
    },
  );
});

describe('rule 10: draft', () => {
  it('sets draftText and draftTextTime (now), and the draft time counts for order', () => {
    const { events, state } = run(chat(1), { type: 'SetDraft', ...ids, draftText: 'hello' });
    expect(events).toEqual([
      {
        type: 'ConversationDraftSet',
        data: { ...ids, draftText: 'hello', draftTextTime: NOW },
      },
    ]);
    expect(state).toMatchObject({ draftText: 'hello', draftTextTime: NOW });
    expect(listPosition(state).sortTime).toBe(NOW);
    const newerChat = chat(9, 'carol');
    expect(compareListPositions(listPosition(state), listPosition(newerChat))).toBeLessThan(0);
  });

  it('un-hides a hidden conversation', () => {
    const hidden = run(chat(1), { type: 'HideConversation', ...ids }).state;
    expect(hidden.isHidden).toBe(true);
    const drafted = run(hidden, { type: 'SetDraft', ...ids, draftText: 'hello' }).state;
    expect(drafted.isHidden).toBe(false);
  });

  it('clears the draft with "", giving back the message time as the order time', () => {
    const drafted = run(chat(1), { type: 'SetDraft', ...ids, draftText: 'hello' }).state;
    const cleared = run(drafted, { type: 'SetDraft', ...ids, draftText: '' }, NOW + 5).state;
    expect(cleared).toMatchObject({ draftText: '', draftTextTime: 0 });
    expect(listPosition(cleared).sortTime).toBe(T0 + 1);
  });

  it('does not un-hide with an empty draft', () => {
    const hidden = run(chat(1), { type: 'HideConversation', ...ids }).state;
    expect(run(hidden, { type: 'SetDraft', ...ids, draftText: '' }).events).toEqual([]);
  });

  it('keeps the first time when the same draft is set again', () => {
    const drafted = run(chat(1), { type: 'SetDraft', ...ids, draftText: 'hello' }).state;
    const again = run(drafted, { type: 'SetDraft', ...ids, draftText: 'hello' }, NOW + 5);
    expect(again.events).toEqual([]);
    expect(again.state.draftTextTime).toBe(NOW);
  });

  it('takes the new time when the text changes', () => {
    const drafted = run(chat(1), { type: 'SetDraft', ...ids, draftText: 'hello' }).state;
    const edited = run(drafted, { type: 'SetDraft', ...ids, draftText: 'hello!' }, NOW + 5).state;
    expect(edited).toMatchObject({ draftText: 'hello!', draftTextTime: NOW + 5 });
  });
});

describe('rule 11: setConversation', () => {
  const every = {
    isPinned: true,
    recvMsgOpt: 2,
    groupAtType: 4,
    isPrivateChat: true,
    burnDuration: 30,
    attachedInfo: '{"a":1}',
    ex: 'extra',
  } as const;

  it('sets every field of the rule in one command', () => {
    const { events, state } = run(chat(1), { type: 'ChangeSettings', ...ids, settings: every });
    expect(events).toHaveLength(1);
    expect(state).toMatchObject(every);
  });

  it('records only the fields that change', () => {
    const { events, state } = run(chat(1), {
      type: 'ChangeSettings',
      ...ids,
      settings: { isPinned: false, ex: 'extra', burnDuration: 0 },
    });
    expect(events).toEqual([
      { type: 'ConversationSettingsChanged', data: { ...ids, settings: { ex: 'extra' } } },
    ]);
    expect(state.ex).toBe('extra');
  });

  it('leaves the fields it does not name alone', () => {
    const set = run(chat(2), { type: 'ChangeSettings', ...ids, settings: every }).state;
    const next = run(set, { type: 'ChangeSettings', ...ids, settings: { ex: 'other' } }).state;
    expect(next).toMatchObject({ ...every, ex: 'other' });
    expect(toItem(next).unreadCount).toBe(2);
  });
});
