import { describe, expect, it } from 'vitest';
import {
  CONVERSATION_GROUPS_MAX,
  type ConversationGroupCommand,
  type ConversationGroupFields,
  type ConversationGroupsDecisionState,
  decideConversationGroupCommand,
} from './conversation-groups.ts';

const owner = 'ann';
const fields: ConversationGroupFields = { name: 'Work', order: 1, ex: '' };

const state = (
  groups: Record<string, ConversationGroupFields>,
  conversations: Record<string, string[]>,
): ConversationGroupsDecisionState => ({
  groups: new Map(Object.entries(groups)),
  conversations: new Map(Object.entries(conversations)),
});

const decide = (command: ConversationGroupCommand, on: ConversationGroupsDecisionState) => {
  const decided = decideConversationGroupCommand(command, on);
  if (!decided.ok) throw new Error(decided.error.message);
  return decided.value;
};

const create = (
  conversationIDs: string[] = [],
): Extract<ConversationGroupCommand, { type: 'CreateConversationGroup' }> => ({
  type: 'CreateConversationGroup',
  owner,
  conversationGroupID: 'w',
  conversationIDs,
  ...fields,
});

describe('rule 17: conversation groups', () => {
  it('creates a group with its conversations, each one’s groups sorted', () => {
    expect(
      decide(create(['si_a_ann', 'si_ann_b']), state({}, { si_a_ann: ['x'], si_ann_b: [] })),
    ).toEqual([
      { type: 'ConversationGroupCreated', data: { owner, conversationGroupID: 'w', ...fields } },
      {
        type: 'ConversationGroupsSet',
        data: { owner, conversationID: 'si_a_ann', conversationGroupIDs: ['w', 'x'] },
      },
      {
        type: 'ConversationGroupsSet',
        data: { owner, conversationID: 'si_ann_b', conversationGroupIDs: ['w'] },
      },
    ]);
  });

  it('takes a repeated create as done, and a create with other fields as a conflict', () => {
    const existing = state({ w: fields }, { si_a_ann: ['w'] });
    expect(decide(create(['si_a_ann']), existing)).toEqual([]);
    const other = decideConversationGroupCommand({ ...create(), name: 'Play' }, existing);
    expect(other).toMatchObject({ ok: false, error: { code: 409 } });
    const more = decideConversationGroupCommand(
      create(['si_ann_b']),
      state({ w: fields }, { si_ann_b: [] }),
    );
    expect(more).toMatchObject({ ok: false, error: { code: 409 } });
  });

  it('refuses the group past the 100th with 400, and an unknown conversation with 404', () => {
    const full = state(
      Object.fromEntries(
        Array.from({ length: CONVERSATION_GROUPS_MAX }, (_, i) => [`g${i}`, fields]),
      ),
      {},
    );
    const refused = decideConversationGroupCommand(create(), full);
    expect(refused).toMatchObject({ ok: false, error: { code: 400 } });
    if (!refused.ok) expect(refused.error.message).toMatch(/^conversationGroupID: /);
    expect(decideConversationGroupCommand(create(['si_ann_zed']), state({}, {}))).toMatchObject({
      ok: false,
      error: { code: 404, message: expect.stringMatching(/^conversationID: /) },
    });
  });

  it('updates only what changed, and nothing when nothing did', () => {
    const existing = state({ w: fields }, {});
    const update = (change: Partial<ConversationGroupFields>): ConversationGroupCommand => ({
      type: 'UpdateConversationGroup',
      owner,
      conversationGroupID: 'w',
      ...change,
    });
    expect(decide(update({ order: 3 }), existing)).toEqual([
      {
        type: 'ConversationGroupUpdated',
        data: { owner, conversationGroupID: 'w', ...fields, order: 3 },
      },
    ]);
    expect(decide(update({ name: 'Work' }), existing)).toEqual([]);
    expect(
      decideConversationGroupCommand(
        { type: 'UpdateConversationGroup', owner, conversationGroupID: 'nope', name: 'x' },
        existing,
      ),
    ).toMatchObject({ ok: false, error: { code: 404 } });
  });

  it('adds and removes only conversations that are not, or are, in the group', () => {
    const existing = state({ w: fields }, { si_a_ann: ['w'], si_ann_b: [] });
    const change = (
      type: 'AddConversationsToGroup' | 'RemoveConversationsFromGroup',
    ): ConversationGroupCommand => ({
      type,
      owner,
      conversationGroupID: 'w',
      conversationIDs: ['si_a_ann', 'si_ann_b', 'si_ann_b'],
    });
    expect(decide(change('AddConversationsToGroup'), existing)).toEqual([
      {
        type: 'ConversationGroupsSet',
        data: { owner, conversationID: 'si_ann_b', conversationGroupIDs: ['w'] },
      },
    ]);
    expect(decide(change('RemoveConversationsFromGroup'), existing)).toEqual([
      {
        type: 'ConversationGroupsSet',
        data: { owner, conversationID: 'si_a_ann', conversationGroupIDs: [] },
      },
    ]);
  });

  it('deletes a group out of its conversations, and takes deleting a missing one as done', () => {
    const existing = state({ w: fields }, { si_a_ann: ['v', 'w'] });
    const command: ConversationGroupCommand = {
      type: 'DeleteConversationGroup',
      owner,
      conversationGroupID: 'w',
    };
    expect(decide(command, existing)).toEqual([
      {
        type: 'ConversationGroupsSet',
        data: { owner, conversationID: 'si_a_ann', conversationGroupIDs: ['v'] },
      },
      { type: 'ConversationGroupDeleted', data: { owner, conversationGroupID: 'w' } },
    ]);
    expect(decide(command, state({}, {}))).toEqual([]);
  });
});
