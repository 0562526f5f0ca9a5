import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import { decideRecordMessage, type RecordMessageCommand } from './decide.ts';
import type { ConversationEvent, MessageRecorded } from './events.ts';
import { evolve, namedOwners } from './evolve.ts';
import { toItem, unreadContribution } from './unread.ts';

const T0 = 1_700_000_000_000;

/** The event recordMessage appends as message `seq` of its conversation. */
const recorded = (
  seq: number,
  command: Partial<RecordMessageCommand> & Pick<RecordMessageCommand, 'sendID'>,
): MessageRecorded => {
  const decision = decideRecordMessage(
    {
      clientMsgID: `c${seq}`,
      serverMsgID: `s${seq}`,
      recvID: '',
      groupID: '',
      sessionType: 1,
      contentType: 101,
      content: `message ${seq}`,
      sendTime: T0 + seq,
      atUserIDList: [],
      ...command,
    },
    { maxSeq: seq - 1, duplicateSeq: undefined },
  );
  if (!decision.ok || decision.value.duplicate) throw new Error('expected a new message');
  return decision.value.events[0];
};

const replay = (owner: string, events: ConversationEvent[], from?: ConversationState) =>
  events.reduce<ConversationState | undefined>((state, event) => evolve(state, event, owner), from);

const required = (state: ConversationState | undefined): ConversationState => {
  if (!state) throw new Error('expected a conversation');
  return state;
};

describe('rule 1: single chat', () => {
  const first = recorded(1, { sendID: 'alice', recvID: 'bob' });

  it('names both members of the chat as owners', () => {
    expect(namedOwners(first)).toEqual(['alice', 'bob']);
  });

  it('puts si_A_B into both lists, with the other member as peer', () => {
    const alice = required(evolve(undefined, first, 'alice'));
    const bob = required(evolve(undefined, first, 'bob'));
    for (const state of [alice, bob]) {
      expect(state).toMatchObject({
        conversationID: 'si_alice_bob',
        conversationType: 1,
        groupID: '',
        isHidden: false,
        maxSeq: 1,
        minSeq: 1,
        latestMsgSendTime: T0 + 1,
      });
    }
    expect(alice.userID).toBe('bob');
    expect(bob.userID).toBe('alice');
  });

  it("never counts the sender's own message as unread", () => {
    const alice = required(evolve(undefined, first, 'alice'));
    const bob = required(evolve(undefined, first, 'bob'));
    expect(alice.hasReadSeq).toBe(1);
    expect(toItem(alice).unreadCount).toBe(0);
    expect(toItem(bob).unreadCount).toBe(1);
  });

  it('counts every message of the peer, and a reply marks everything before it read', () => {
    const events = [
      recorded(1, { sendID: 'alice', recvID: 'bob' }),
      recorded(2, { sendID: 'bob', recvID: 'alice' }),
      recorded(3, { sendID: 'bob', recvID: 'alice' }),
    ];
    const alice = required(replay('alice', events));
    expect(toItem(alice).unreadCount).toBe(2);
    const reply = recorded(4, { sendID: 'alice', recvID: 'bob' });
    const replied = required(evolve(alice, reply, 'alice'));
    expect(replied.hasReadSeq).toBe(4);
    expect(toItem(replied).unreadCount).toBe(0);
    const bob = required(replay('bob', events));
    expect(toItem(bob).unreadCount).toBe(0);
    expect(toItem(required(evolve(bob, reply, 'bob'))).unreadCount).toBe(1);
  });

  it('keeps one conversation per owner for a chat with oneself, never unread', () => {
    const note = recorded(1, { sendID: 'alice', recvID: 'alice' });
    expect(namedOwners(note)).toEqual(['alice']);
    const alice = required(evolve(undefined, note, 'alice'));
    expect(alice).toMatchObject({ conversationID: 'si_alice_alice', userID: 'alice' });
    expect(toItem(alice).unreadCount).toBe(0);
  });

  it('treats a notification chat (sessionType 4) like a single chat under sn_', () => {
    const notice = recorded(1, { sendID: 'system', recvID: 'alice', sessionType: 4 });
    const alice = required(evolve(undefined, notice, 'alice'));
    expect(alice).toMatchObject({
      conversationID: 'sn_alice_system',
      conversationType: 4,
      userID: 'system',
      isHidden: false,
    });
    expect(unreadContribution(alice)).toBe(1);
  });

  it('ignores atUserIDList outside groups', () => {
    const mention = recorded(1, { sendID: 'bob', recvID: 'alice', atUserIDList: ['alice'] });
    expect(required(evolve(undefined, mention, 'alice')).groupAtType).toBe(0);
  });

  it('stores the recorded message as latestMsg, fields in SPEC §2 order', () => {
    const alice = required(
      evolve(
        undefined,
        recorded(1, { sendID: 'bob', recvID: 'alice', content: '{"text":"hi"}' }),
        'alice',
      ),
    );
    expect(alice.latestMsg).toBe(
      JSON.stringify({
        clientMsgID: 'c1',
        serverMsgID: 's1',
        sendID: 'bob',
        recvID: 'alice',
        groupID: '',
        sessionType: 1,
        contentType: 101,
        content: '{"text":"hi"}',
        sendTime: T0 + 1,
        seq: 1,
      }),
    );
  });
});

describe('rule 12: messages out of order', () => {
  it('keeps the highest seq as latestMsg, whatever its sendTime', () => {
    const events = [
      recorded(1, { sendID: 'bob', recvID: 'alice', sendTime: T0 + 500 }),
      recorded(2, { sendID: 'bob', recvID: 'alice', sendTime: T0 + 100 }),
    ];
    const alice = required(replay('alice', events));
    expect(JSON.parse(alice.latestMsg)).toMatchObject({ seq: 2, sendTime: T0 + 100 });
    expect(alice.latestMsgSendTime).toBe(T0 + 100);
    expect(alice.maxSeq).toBe(2);
  });

  it('keeps the highest seq when a lower seq is applied after it', () => {
    const late = recorded(1, { sendID: 'bob', recvID: 'alice', sendTime: T0 + 900 });
    const early = recorded(2, { sendID: 'bob', recvID: 'alice', sendTime: T0 + 100 });
    const alice = required(replay('alice', [early, late]));
    expect(JSON.parse(alice.latestMsg)).toMatchObject({ seq: 2, sendTime: T0 + 100 });
    expect(alice.latestMsgSendTime).toBe(T0 + 100);
    expect(alice.maxSeq).toBe(2);
    expect(toItem(alice).unreadCount).toBe(2);
  });
});
