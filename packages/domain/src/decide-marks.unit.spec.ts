import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import { decideOwnerCommand, type OwnerCommand } from './decide.ts';
import type { MessageRecorded } from './events.ts';
import { AT_ALL_TAG } from './evolve.ts';
import { apply, singleMessage as message, NOW, runOwner } from './test-fixtures.ts';
import { toItem, totalUnread, unreadContribution } from './unread.ts';

/** alice's view of her chat with bob after bob sent `count` messages. */
const chat = (count: number): ConversationState => {
  let state: ConversationState | undefined;
  for (let seq = 1; seq <= count; seq++)
    state = apply(state, message(seq, 'bob', 'alice'), 'alice');
  if (!state) throw new Error('a chat needs a message');
  return state;
};

const ids = { owner: 'alice', conversationID: 'si_alice_bob' };

const decide = (state: ConversationState, command: OwnerCommand) =>
  decideOwnerCommand(command, state, NOW);

const run = runOwner;

const markUnread = (fromSeq?: number): OwnerCommand =>
  fromSeq === undefined
    ? { type: 'MarkConversationUnread', ...ids }
    : { type: 'MarkConversationUnread', ...ids, fromSeq };
const read = (upToSeq?: number): OwnerCommand =>
  upToSeq === undefined
    ? { type: 'MarkConversationRead', ...ids }
    : { type: 'MarkConversationRead', ...ids, upToSeq };

const readChat = (count: number) => run(chat(count), read()).state;

/** alice's group conversation sg_g after messages 1..count from bob, message `atSeq` @-ing her. */
const groupChat = (count: number, atSeq: number): ConversationState => {
  let state: ConversationState = apply(
    undefined,
    { type: 'GroupMembersJoined', data: { groupID: 'g', userIDs: ['alice'], maxSeq: 0 } },
    'alice',
  );
  for (let seq = 1; seq <= count; seq++) {
    const event: MessageRecorded = {
      type: 'MessageRecorded',
      data: {
        conversationID: 'sg_g',
        conversationType: 3,
        message: {
          ...message(seq, 'bob', 'alice').data.message,
          recvID: '',
          groupID: 'g',
          sessionType: 3,
        },
        atUserIDList: seq === atSeq ? ['alice', AT_ALL_TAG] : [],
      },
    };
    state = apply(state, event, 'alice');
  }
  return state;
};

describe('rule 18: mark as unread', () => {
  it('flags a read conversation, keeps its seqs, and counts it as 1 in the total', () => {
    const before = readChat(3);
    expect(unreadContribution(before)).toBe(0);
    const { events, state } = run(before, markUnread());
    expect(events).toEqual([{ type: 'ConversationMarkedUnread', data: ids }]);
    expect(state).toMatchObject({ isMarkedUnread: true, hasReadSeq: 3, maxSeq: 3 });
    expect(toItem(state).unreadCount).toBe(0);
    expect(unreadContribution(state)).toBe(1);
  });

  it('counts a marked conversation with unread messages as their number, not one more', () => {
    const { state } = run(chat(4), markUnread());
    expect(unreadContribution(state)).toBe(4);
    expect(totalUnread([state, readChat(2)])).toBe(4);
  });

  it('leaves a hidden or muted marked conversation out of the total, as any other', () => {
    const marked = run(readChat(3), markUnread()).state;
    const hidden = run(marked, { type: 'HideConversation', ...ids }).state;
    expect(hidden.isMarkedUnread).toBe(true);
    expect(unreadContribution(hidden)).toBe(0);
    const muted = run(marked, {
      type: 'ChangeSettings',
      ...ids,
      settings: { recvMsgOpt: 2 },
    }).state;
    expect(unreadContribution(muted)).toBe(0);
  });

  it('changes nothing when the conversation is already marked (no event)', () => {
    const marked = run(readChat(3), markUnread()).state;
    expect(decide(marked, markUnread())).toEqual({ ok: true, value: [] });
  });

  it('with fromSeq, reads back to just before that message: the one way hasReadSeq moves back', () => {
    const { events, state } = run(readChat(5), markUnread(3));
    expect(events).toEqual([{ type: 'ConversationMarkedUnread', data: { ...ids, hasReadSeq: 2 } }]);
    expect(state.hasReadSeq).toBe(2);
    expect(toItem(state).unreadCount).toBe(3);
    expect(state.isMarkedUnread).toBe(false);
  });

  it('with fromSeq, does not bring back @ flags a read cleared', () => {
    const group = groupChat(4, 2);
    expect(group.groupAtType).toBe(3);
    const readGroup = run(group, {
      type: 'MarkConversationRead',
      owner: 'alice',
      conversationID: 'sg_g',
    }).state;
    const back = run(readGroup, {
      type: 'MarkConversationUnread',
      owner: 'alice',
      conversationID: 'sg_g',
      fromSeq: 1,
    }).state;
    expect(back).toMatchObject({ hasReadSeq: 0, groupAtType: 0 });
    expect(toItem(back).unreadCount).toBe(4);
  });

  it('refuses a fromSeq outside minSeq..maxSeq, naming fromSeq', () => {
    const cleared = run(chat(5), { type: 'ClearConversation', ...ids }).state;
    for (const [state, fromSeq] of [
      [readChat(5), 0],
      [readChat(5), 6],
      [cleared, 5],
    ] as const) {
      const decision = decide(state, markUnread(fromSeq));
      expect(decision.ok).toBe(false);
      if (!decision.ok) {
        expect(decision.error.code).toBe(400);
        expect(decision.error.message).toMatch(/^fromSeq: /);
      }
    }
  });

  it('is cleared by any read, by a read up to a position, and by the owner’s own message', () => {
    const marked = run(chat(3), markUnread()).state;
    expect(run(marked, read()).state.isMarkedUnread).toBe(false);
    expect(run(marked, read(1)).state.isMarkedUnread).toBe(false);
    const own = apply(marked, message(4, 'alice', 'bob'), 'alice');
    expect(own.isMarkedUnread).toBe(false);
    // A read of a marked conversation with nothing unread still clears the mark: one event.
    const markedRead = run(readChat(2), markUnread()).state;
    expect(run(markedRead, read()).events).toHaveLength(1);
  });

  it('is cleared by delete and clear, whose history is gone; a peer’s message keeps it', () => {
    const marked = run(readChat(3), markUnread()).state;
    expect(run(marked, { type: 'DeleteConversation', ...ids }).state.isMarkedUnread).toBe(false);
    expect(run(marked, { type: 'ClearConversation', ...ids }).state.isMarkedUnread).toBe(false);
    const more = apply(marked, message(4, 'bob', 'alice'), 'alice');
    expect(more.isMarkedUnread).toBe(true);
    expect(unreadContribution(more)).toBe(1);
  });
});

describe('rule 19: read up to a position', () => {
  it('moves hasReadSeq to upToSeq, no further than maxSeq, never back', () => {
    expect(run(chat(5), read(3)).state.hasReadSeq).toBe(3);
    expect(run(chat(5), read(9)).state.hasReadSeq).toBe(5);
    const atThree = run(chat(5), read(3)).state;
    expect(decide(atThree, read(2))).toEqual({ ok: true, value: [] });
    expect(toItem(atThree).unreadCount).toBe(2);
  });

  it('resets the @ flags only when it reads the conversation to its end', () => {
    const group = groupChat(5, 4);
    const owner = { owner: 'alice', conversationID: 'sg_g' };
    const partly = run(group, { type: 'MarkConversationRead', ...owner, upToSeq: 4 }).state;
    expect(partly.groupAtType).toBe(3);
    const toEnd = run(partly, { type: 'MarkConversationRead', ...owner, upToSeq: 5 }).state;
    expect(toEnd.groupAtType).toBe(0);
  });
});
