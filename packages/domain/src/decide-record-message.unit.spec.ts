import { describe, expect, it } from 'vitest';
import { decideRecordMessage, messageConversationID, type RecordMessageCommand } from './decide.ts';

const command = (fields: Partial<RecordMessageCommand> = {}): RecordMessageCommand => ({
  clientMsgID: 'c1',
  serverMsgID: 's1',
  sendID: 'bob',
  recvID: 'alice',
  groupID: '',
  sessionType: 1,
  contentType: 101,
  content: 'hi',
  sendTime: 1_700_000_000_000,
  atUserIDList: [],
  ...fields,
});

describe('recordMessage decisions', () => {
  it('gives the next seq of the conversation, gapless', () => {
    for (const maxSeq of [0, 1, 41]) {
      const decision = decideRecordMessage(command(), { maxSeq, duplicateSeq: undefined });
      expect(decision).toMatchObject({ ok: true, value: { duplicate: false, seq: maxSeq + 1 } });
      if (decision.ok && !decision.value.duplicate) {
        expect(decision.value.events[0].data.message.seq).toBe(maxSeq + 1);
      }
    }
  });

  it('derives the conversationID from the message, whoever sends', () => {
    expect(messageConversationID(command({ sendID: 'bob', recvID: 'alice' }))).toBe('si_alice_bob');
    expect(messageConversationID(command({ sendID: 'alice', recvID: 'bob' }))).toBe('si_alice_bob');
    expect(messageConversationID(command({ sessionType: 4, sendID: 'sys', recvID: 'alice' }))).toBe(
      'sn_alice_sys',
    );
    expect(messageConversationID(command({ sessionType: 3, recvID: '', groupID: 'team' }))).toBe(
      'sg_team',
    );
  });

  it('carries the mentions in the event, not in the recorded message', () => {
    const decision = decideRecordMessage(
      command({ sessionType: 3, recvID: '', groupID: 'team', atUserIDList: ['alice'] }),
      { maxSeq: 0, duplicateSeq: undefined },
    );
    if (!decision.ok || decision.value.duplicate) throw new Error('expected a new message');
    const [event] = decision.value.events;
    expect(event.data).toMatchObject({
      conversationID: 'sg_team',
      conversationType: 3,
      atUserIDList: ['alice'],
    });
    expect(event.data.message).not.toHaveProperty('atUserIDList');
  });

  it('rejects a group message without groupID and a single one without recvID (400)', () => {
    const stream = { maxSeq: 0, duplicateSeq: undefined };
    expect(
      decideRecordMessage(command({ sessionType: 3, recvID: '', groupID: '' }), stream),
    ).toMatchObject({
      ok: false,
      error: { code: 400, message: expect.stringMatching(/^groupID/) },
    });
    for (const sessionType of [1, 4] as const) {
      expect(decideRecordMessage(command({ sessionType, recvID: '' }), stream)).toMatchObject({
        ok: false,
        error: { code: 400, message: expect.stringMatching(/^recvID/) },
      });
    }
  });
});

describe('rule 13: recordMessage is idempotent on (conversationID, clientMsgID)', () => {
  it('answers a retry with the seq first given, duplicate, and appends nothing', () => {
    const first = decideRecordMessage(command(), { maxSeq: 6, duplicateSeq: undefined });
    expect(first).toMatchObject({ ok: true, value: { duplicate: false, seq: 7 } });
    const retry = decideRecordMessage(command(), { maxSeq: 9, duplicateSeq: 7 });
    expect(retry).toEqual({ ok: true, value: { duplicate: true, seq: 7, events: [] } });
  });
});
