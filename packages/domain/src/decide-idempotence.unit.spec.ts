import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import { decideOwnerCommand, type OwnerCommand } from './decide.ts';
import { evolve } from './evolve.ts';

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;
const ids = { owner: 'alice', conversationID: 'si_alice_bob' };

/** alice's chat with bob: two messages from bob, unread. */
const chat = (): ConversationState => {
  let state: ConversationState | undefined;
  for (const seq of [1, 2]) {
    state = evolve(
      state,
      {
        type: 'MessageRecorded',
        data: {
          conversationID: ids.conversationID,
          conversationType: 1,
          message: {
            clientMsgID: `c${seq}`,
            serverMsgID: '',
            sendID: 'bob',
            recvID: 'alice',
            groupID: '',
            sessionType: 1,
            contentType: 101,
            content: 'hi',
            sendTime: T0 + seq,
            seq,
          },
          atUserIDList: [],
        },
      },
      'alice',
    );
  }
  if (!state) throw new Error('unreachable');
  return state;
};

const commands: OwnerCommand[] = [
  { type: 'MarkConversationRead', ...ids },
  { type: 'DeleteConversation', ...ids },
  { type: 'HideConversation', ...ids },
  { type: 'ClearConversation', ...ids },
  { type: 'SetDraft', ...ids, draftText: 'draft' },
  { type: 'SetDraft', ...ids, draftText: '' },
  { type: 'ChangeSettings', ...ids, settings: { isPinned: true } },
  { type: 'ChangeSettings', ...ids, settings: { recvMsgOpt: 1 } },
  {
    type: 'ChangeSettings',
    ...ids,
    settings: {
      isPinned: true,
      recvMsgOpt: 2,
      groupAtType: 1,
      isPrivateChat: true,
      burnDuration: 10,
      attachedInfo: 'i',
      ex: 'e',
    },
  },
];
const label = (command: OwnerCommand) =>
  command.type === 'SetDraft'
    ? `SetDraft ${JSON.stringify(command.draftText)}`
    : command.type === 'ChangeSettings'
      ? `ChangeSettings ${Object.keys(command.settings).join(',')}`
      : command.type;

const decide = (command: OwnerCommand, state: ConversationState | undefined, now = NOW) => {
  const decision = decideOwnerCommand(command, state, now);
  if (!decision.ok) throw new Error(decision.error.message);
  return decision.value;
};

describe('rule 13: a command that changes nothing decides no event', () => {
  it.each(commands.map((command) => [label(command), command] as const))(
    '%s given twice decides nothing the second time',
    (_label, command) => {
      const state = decide(command, chat()).reduce<ConversationState | undefined>(
        (s, event) => evolve(s, event, 'alice'),
        chat(),
      );
      expect(decide(command, state, NOW + 1_000)).toEqual([]);
    },
  );

  it.each([
    ['reading what is read', { type: 'MarkConversationRead', ...ids }],
    [
      'unpinning what is not pinned',
      { type: 'ChangeSettings', ...ids, settings: { isPinned: false } },
    ],
    [
      'setting the default settings',
      {
        type: 'ChangeSettings',
        ...ids,
        settings: {
          recvMsgOpt: 0,
          groupAtType: 0,
          isPrivateChat: false,
          burnDuration: 0,
          attachedInfo: '',
          ex: '',
        },
      },
    ],
    ['clearing an absent draft', { type: 'SetDraft', ...ids, draftText: '' }],
    ['setting no settings at all', { type: 'ChangeSettings', ...ids, settings: {} }],
  ] as Array<[string, OwnerCommand]>)('decides nothing for %s', (_why, command) => {
    const read = decide({ type: 'MarkConversationRead', ...ids }, chat()).reduce<
      ConversationState | undefined
    >((s, event) => evolve(s, event, 'alice'), chat());
    expect(decide(command, read)).toEqual([]);
  });

  it('decides nothing for hiding what is hidden, deleting what is deleted, clearing what is clear', () => {
    for (const type of ['HideConversation', 'DeleteConversation', 'ClearConversation'] as const) {
      const once = decide({ type, ...ids }, chat()).reduce<ConversationState | undefined>(
        (s, event) => evolve(s, event, 'alice'),
        chat(),
      );
      expect(decide({ type, ...ids }, once)).toEqual([]);
    }
  });
});

describe('rule 15: unknown conversation', () => {
  it.each(commands.map((command) => [label(command), command] as const))(
    '%s on a conversation the owner does not have is a 404 naming it',
    (_label, command) => {
      expect(decideOwnerCommand(command, undefined, NOW)).toEqual({
        ok: false,
        error: { code: 404, message: expect.stringContaining('si_alice_bob') },
      });
    },
  );
});
