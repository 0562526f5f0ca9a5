import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import type { OwnerCommand } from './decide.ts';
import { apply, singleMessage as message, NOW, runOwner } from './test-fixtures.ts';
import { unreadContribution } from './unread.ts';

const ids = { owner: 'alice', conversationID: 'si_alice_bob' };

const run = runOwner;

const chat = () =>
  apply(apply(undefined, message(1, 'bob', 'alice'), 'alice'), message(2, 'bob', 'alice'), 'alice');
const mute = (until: number): OwnerCommand => ({
  type: 'ChangeSettings',
  ...ids,
  settings: { recvMsgOpt: 2, recvMsgOptUntil: until },
});
const end = (until: number): OwnerCommand => ({ type: 'EndTimedRecvMsgOpt', ...ids, until });

describe('rule 21: timed do-not-disturb, on a clock the test holds', () => {
  it('ends by itself at `until`: recvMsgOpt and its end back to 0, and the total counts it again', () => {
    const muted = run(chat(), mute(NOW + 2000)).state;
    expect(muted).toMatchObject({ recvMsgOpt: 2, recvMsgOptUntil: NOW + 2000 });
    expect(unreadContribution(muted)).toBe(0);
    expect(run(muted, end(NOW + 2000), NOW + 1999).events).toEqual([]);
    const ended = run(muted, end(NOW + 2000), NOW + 2000);
    expect(ended.events).toHaveLength(1);
    expect(ended.state).toMatchObject({ recvMsgOpt: 0, recvMsgOptUntil: 0 });
    expect(unreadContribution(ended.state)).toBe(2);
    // Once: the same end again finds nothing to end.
    expect(run(ended.state, end(NOW + 2000), NOW + 5000).events).toEqual([]);
  });

  it('is replaced by a new opt: the old timer ends nothing', () => {
    const muted = run(chat(), mute(NOW + 2000)).state;
    const forever = run(muted, {
      type: 'ChangeSettings',
      ...ids,
      settings: { recvMsgOpt: 1 },
    }).state;
    expect(forever).toMatchObject({ recvMsgOpt: 1, recvMsgOptUntil: 0 });
    expect(run(forever, end(NOW + 2000), NOW + 3000).events).toEqual([]);
    const later = run(muted, mute(NOW + 9000)).state;
    expect(run(later, end(NOW + 2000), NOW + 3000).events).toEqual([]);
    expect(run(later, end(NOW + 9000), NOW + 9000).state.recvMsgOpt).toBe(0);
  });
});

describe('rule 22: messages that destroy themselves', () => {
  const destruct = (minSeq: number): OwnerCommand => ({
    type: 'DestructMessages',
    ...ids,
    minSeq,
    at: NOW,
  });
  const on = (state: ConversationState) =>
    run(state, { type: 'ChangeSettings', ...ids, settings: { isMsgDestruct: true } }).state;

  it('moves minSeq past the messages out of the window; latestMsg stays while the newest survives', () => {
    const cleared = run(on(chat()), destruct(2)).state;
    expect(cleared).toMatchObject({ minSeq: 2, latestMsgDestructTime: NOW });
    expect(cleared.latestMsg).not.toBe('');
    const gone = run(cleared, destruct(3)).state;
    expect(gone).toMatchObject({ minSeq: 3, latestMsg: '' });
    expect(unreadContribution(gone)).toBe(0);
  });

  it('does nothing while self-destruct is off, or for what is already cleared', () => {
    expect(run(chat(), destruct(2)).events).toEqual([]);
    const cleared = run(on(chat()), destruct(2)).state;
    expect(run(cleared, destruct(2)).events).toEqual([]);
  });
});
