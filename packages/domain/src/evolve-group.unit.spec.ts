import { describe, expect, it } from 'vitest';
import type { ConversationState } from './conversation.ts';
import {
  decideJoinGroup,
  decideLeaveGroup,
  decideOwnerCommand,
  decideRecordMessage,
} from './decide.ts';
import type { ConversationEvent, ConversationSettings } from './events.ts';
import { AT_ALL_TAG, evolve } from './evolve.ts';
import { toItem, unreadContribution } from './unread.ts';

const T0 = 1_700_000_000_000;

/**
 * One group as the engine runs it: the deciders on the group's state, evolve on every member row
 * the projector holds (a group message reaches every row of the conversation, left members too).
 */
const group = (groupID = 'team') => {
  const rows = new Map<string, ConversationState>();
  const members = new Set<string>();
  let maxSeq = 0;
  const apply = (event: ConversationEvent, owners: Iterable<string>) => {
    for (const owner of owners) {
      const next = evolve(rows.get(owner), event, owner);
      if (next) rows.set(owner, next);
    }
  };
  const row = (owner: string): ConversationState => {
    const state = rows.get(owner);
    if (!state) throw new Error(`${owner} has no conversation`);
    return state;
  };
  return {
    join(...userIDs: string[]) {
      const events = decideJoinGroup({ groupID, userIDs }, { members, maxSeq });
      for (const event of events) {
        apply(event, event.data.userIDs);
        for (const id of event.data.userIDs) members.add(id);
      }
      return events;
    },
    leave(...userIDs: string[]) {
      const events = decideLeaveGroup({ groupID, userIDs }, { members, maxSeq });
      for (const event of events) {
        apply(event, event.data.userIDs);
        for (const id of event.data.userIDs) members.delete(id);
      }
      return events;
    },
    send(sendID: string, atUserIDList: string[] = []) {
      const decision = decideRecordMessage(
        {
          clientMsgID: `c${maxSeq + 1}`,
          serverMsgID: '',
          sendID,
          recvID: '',
          groupID,
          sessionType: 3,
          contentType: 101,
          content: `message ${maxSeq + 1}`,
          sendTime: T0 + maxSeq + 1,
          atUserIDList,
        },
        { maxSeq, duplicateSeq: undefined },
      );
      if (!decision.ok || decision.value.duplicate) throw new Error('expected a new message');
      maxSeq = decision.value.seq;
      apply(decision.value.events[0], [...rows.keys()]);
    },
    read(owner: string) {
      const decision = decideOwnerCommand(
        { type: 'MarkConversationRead', owner, conversationID: `sg_${groupID}` },
        rows.get(owner),
        T0,
      );
      if (!decision.ok) throw new Error(decision.error.message);
      for (const event of decision.value) apply(event, [owner]);
    },
    set(owner: string, settings: Partial<ConversationSettings>) {
      const decision = decideOwnerCommand(
        { type: 'ChangeSettings', owner, conversationID: `sg_${groupID}`, settings },
        rows.get(owner),
        T0,
      );
      if (!decision.ok) throw new Error(decision.error.message);
      for (const event of decision.value) apply(event, [owner]);
    },
    row,
    has: (owner: string) => rows.has(owner),
    unread: (owner: string) => toItem(row(owner)).unreadCount,
    latestSeq: (owner: string) => {
      const { latestMsg } = row(owner);
      return latestMsg === '' ? 0 : (JSON.parse(latestMsg) as { seq: number }).seq;
    },
  };
};

describe('rule 2: group chat join window', () => {
  it('sees only messages above the group maxSeq at join (minSeq = maxSeq + 1)', () => {
    const g = group();
    g.join('alice');
    g.send('alice');
    g.send('alice');
    g.send('alice');
    g.join('bob');
    expect(g.row('bob')).toMatchObject({
      conversationID: 'sg_team',
      conversationType: 3,
      groupID: 'team',
      userID: '',
      maxSeq: 3,
      minSeq: 4,
      latestMsg: '',
    });
    expect(g.unread('bob')).toBe(0);
    g.send('alice');
    expect(g.unread('bob')).toBe(1);
    expect(g.latestSeq('bob')).toBe(4);
    expect(g.unread('alice')).toBe(0);
  });

  it('keeps a new member out of the list, yet known, until the first message they can see', () => {
    const g = group();
    g.join('alice');
    g.send('alice');
    g.join('bob');
    expect(g.has('bob')).toBe(true);
    expect(g.row('bob').isHidden).toBe(true);
    g.send('alice');
    expect(g.row('bob').isHidden).toBe(false);
  });

  it('gives no conversation to someone who never joined', () => {
    const g = group();
    g.join('alice');
    g.send('alice');
    expect(g.has('mallory')).toBe(false);
  });

  it('freezes maxSeq on leave, sets isNotInGroup and keeps the conversation', () => {
    const g = group();
    g.join('alice', 'bob');
    g.send('alice');
    g.send('alice');
    g.leave('bob');
    const left = g.row('bob');
    expect(left).toMatchObject({ isNotInGroup: true, isHidden: false, maxSeq: 2 });
    g.send('alice');
    g.send('alice', [AT_ALL_TAG, 'bob']);
    expect(g.row('bob')).toMatchObject({ isNotInGroup: true, maxSeq: 2, groupAtType: 0 });
    expect(g.unread('bob')).toBe(2);
    expect(g.latestSeq('bob')).toBe(2);
  });

  it('lifts the freeze on rejoin while messages sent while away stay invisible', () => {
    const g = group();
    g.join('alice', 'bob');
    g.send('alice');
    g.read('bob');
    g.leave('bob');
    g.send('alice');
    g.send('alice');
    g.join('bob');
    expect(g.row('bob')).toMatchObject({ isNotInGroup: false, maxSeq: 3, minSeq: 4 });
    expect(g.unread('bob')).toBe(0);
    g.send('alice');
    expect(g.unread('bob')).toBe(1);
    expect(g.latestSeq('bob')).toBe(4);
  });

  it('ignores a message below minSeq that reaches a member after their join', () => {
    // The join and older messages live in different streams; the projector may meet them in
    // either order.
    const joined = evolve(
      undefined,
      { type: 'GroupMembersJoined', data: { groupID: 'team', userIDs: ['bob'], maxSeq: 3 } },
      'bob',
    );
    const late = evolve(
      joined,
      {
        type: 'MessageRecorded',
        data: {
          conversationID: 'sg_team',
          conversationType: 3,
          message: {
            clientMsgID: 'c2',
            serverMsgID: '',
            sendID: 'alice',
            recvID: '',
            groupID: 'team',
            sessionType: 3,
            contentType: 101,
            content: 'before bob',
            sendTime: T0 + 2,
            seq: 2,
          },
          atUserIDList: ['bob'],
        },
      },
      'bob',
    );
    expect(late).toEqual(joined);
  });

  it('decides a join only for new members, once each, at the group maxSeq', () => {
    const g = group();
    expect(g.join('alice', 'alice', 'bob')).toEqual([
      {
        type: 'GroupMembersJoined',
        data: { groupID: 'team', userIDs: ['alice', 'bob'], maxSeq: 0 },
      },
    ]);
    g.send('alice');
    expect(g.join('alice', 'bob')).toEqual([]);
    expect(g.join('bob', 'carol')).toEqual([
      { type: 'GroupMembersJoined', data: { groupID: 'team', userIDs: ['carol'], maxSeq: 1 } },
    ]);
  });

  it('decides a leave only for members', () => {
    const g = group();
    g.join('alice', 'bob');
    g.send('alice');
    expect(g.leave('carol')).toEqual([]);
    expect(g.leave('bob', 'bob', 'carol')).toEqual([
      { type: 'GroupMembersLeft', data: { groupID: 'team', userIDs: ['bob'], maxSeq: 1 } },
    ]);
    expect(g.leave('bob')).toEqual([]);
  });
});

describe('rule 3: @ mentions', () => {
  const members = () => {
    const g = group();
    g.join('alice', 'bob', 'carol');
    return g;
  };

  it('sets @me (1) for a member named in atUserIDList, and nobody else', () => {
    const g = members();
    g.send('alice', ['bob']);
    expect(g.row('bob').groupAtType).toBe(1);
    expect(g.row('carol').groupAtType).toBe(0);
    expect(g.row('alice').groupAtType).toBe(0);
  });

  it('sets @all (2) for every member but the sender', () => {
    const g = members();
    g.send('alice', [AT_ALL_TAG]);
    expect(g.row('bob').groupAtType).toBe(2);
    expect(g.row('carol').groupAtType).toBe(2);
    expect(g.row('alice').groupAtType).toBe(0);
  });

  it('gives 3 for @me and @all in one message', () => {
    const g = members();
    g.send('alice', ['bob', AT_ALL_TAG]);
    expect(g.row('bob').groupAtType).toBe(3);
    expect(g.row('carol').groupAtType).toBe(2);
  });

  it('accumulates @me and @all over several messages, in either order, to 3', () => {
    const g = members();
    g.send('alice', ['bob']);
    g.send('carol');
    g.send('alice', [AT_ALL_TAG]);
    g.send('carol', [AT_ALL_TAG]);
    g.send('carol', ['alice']);
    expect(g.row('bob').groupAtType).toBe(3);
    expect(g.row('alice').groupAtType).toBe(3);
    // carol wrote after alice's @all: writing reads.
    expect(g.row('carol').groupAtType).toBe(0);
  });

  it('does not flag a sender who names themselves', () => {
    const g = members();
    g.send('alice', ['alice', AT_ALL_TAG]);
    expect(g.row('alice').groupAtType).toBe(0);
  });

  it('resets to 0 on read, until the next mention', () => {
    const g = members();
    g.send('alice', ['bob', AT_ALL_TAG]);
    g.read('bob');
    expect(g.row('bob').groupAtType).toBe(0);
    expect(g.row('carol').groupAtType).toBe(2);
    g.send('alice');
    expect(g.row('bob').groupAtType).toBe(0);
    g.send('alice', [AT_ALL_TAG]);
    expect(g.row('bob').groupAtType).toBe(2);
  });

  it('clears the flags when the member writes, since writing reads (rule 1)', () => {
    const g = members();
    g.send('alice', ['bob', AT_ALL_TAG]);
    g.send('bob');
    expect(g.unread('bob')).toBe(0);
    expect(g.row('bob').groupAtType).toBe(0);
    expect(g.row('carol').groupAtType).toBe(2);
  });

  it('leaves no flag after a rejoin, which leaves nothing unread', () => {
    const g = members();
    g.send('alice', ['bob']);
    g.leave('bob');
    expect(g.row('bob').groupAtType).toBe(1);
    g.join('bob');
    expect(g.unread('bob')).toBe(0);
    expect(g.row('bob').groupAtType).toBe(0);
  });

  it('replaces a group-notice flag (4) with the mention, never mixing them', () => {
    const g = members();
    g.send('alice');
    g.set('bob', { groupAtType: 4 });
    g.send('alice', ['bob']);
    expect(g.row('bob').groupAtType).toBe(1);
  });

  it('does not flag a member for a message they cannot see', () => {
    const g = members();
    g.send('alice');
    g.leave('bob');
    g.send('alice', ['bob']);
    expect(g.row('bob').groupAtType).toBe(0);
    g.join('dave');
    expect(g.row('dave').groupAtType).toBe(0);
  });

  it('counts a mentioned message in unread like any other', () => {
    const g = members();
    g.send('alice', ['bob']);
    expect(unreadContribution(g.row('bob'))).toBe(1);
  });
});
