import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  conversationIDFor,
  groupConversationID,
  isValidID,
  isWellFormedConversationID,
  notificationConversationID,
  parseConversationID,
  SessionType,
  singleConversationID,
} from './ids.ts';

const ID_CHARACTERS = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  ...'_-@:+=',
];
const validID = fc
  .array(fc.constantFrom(...ID_CHARACTERS), { minLength: 1, maxLength: 64 })
  .map((chars) => chars.join(''));

describe('ID rules (SPEC §1)', () => {
  it.each(['alice', 'A', 'user_1', 'a-b', 'mail@host', 'ns:id', 'a+b=c', '0', 'x'.repeat(64)])(
    'accepts %j',
    (id) => {
      expect(isValidID(id)).toBe(true);
    },
  );

  it.each([
    ['empty', ''],
    ['65 characters', 'x'.repeat(65)],
    ['a dot (NATS token separator)', 'a.b'],
    ['a star (NATS wildcard)', 'a*'],
    ['a greater-than (NATS wildcard)', 'a>'],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a trailing newline', 'alice\n'],
    ['a slash', 'a/b'],
    ['a non-ASCII letter', 'zoë'],
  ])('rejects %s', (_why, id) => {
    expect(isValidID(id)).toBe(false);
  });

  it('accepts exactly the IDs of 1–64 characters from A–Z a–z 0–9 _ - @ : + =', () => {
    fc.assert(fc.property(validID, (id) => isValidID(id)));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (id) => {
        const expected =
          id.length >= 1 && id.length <= 64 && [...id].every((c) => ID_CHARACTERS.includes(c));
        return isValidID(id) === expected;
      }),
    );
  });
});

describe('conversationID derivation', () => {
  it('sorts the two userIDs of a single chat, whoever sends', () => {
    expect(singleConversationID('bob', 'alice')).toBe('si_alice_bob');
    expect(singleConversationID('alice', 'bob')).toBe('si_alice_bob');
    expect(conversationIDFor('bob', SessionType.single, 'alice')).toBe('si_alice_bob');
    expect(conversationIDFor('alice', SessionType.single, 'bob')).toBe('si_alice_bob');
  });

  it('sorts in string order, so uppercase comes before lowercase', () => {
    expect(singleConversationID('alice', 'Zed')).toBe('si_Zed_alice');
    expect(singleConversationID('user10', 'user9')).toBe('si_user10_user9');
  });

  it('derives sn_ for notification chats, sorted the same way', () => {
    expect(notificationConversationID('system', 'alice')).toBe('sn_alice_system');
    expect(conversationIDFor('system', SessionType.notification, 'alice')).toBe('sn_alice_system');
  });

  it('derives sg_<groupID> for a group, whoever the owner', () => {
    expect(groupConversationID('team')).toBe('sg_team');
    expect(conversationIDFor('alice', SessionType.group, 'team')).toBe('sg_team');
    expect(conversationIDFor('bob', SessionType.group, 'team')).toBe('sg_team');
  });

  it('gives both members of a chat the same conversationID', () => {
    fc.assert(
      fc.property(validID, validID, (a, b) => {
        expect(conversationIDFor(a, SessionType.single, b)).toBe(
          conversationIDFor(b, SessionType.single, a),
        );
        expect(conversationIDFor(a, SessionType.notification, b)).toBe(
          conversationIDFor(b, SessionType.notification, a),
        );
      }),
    );
  });
});

describe('parseConversationID', () => {
  it('parses the three kinds', () => {
    expect(parseConversationID('si_alice_bob')).toEqual({
      sessionType: 1,
      userIDs: ['alice', 'bob'],
    });
    expect(parseConversationID('sn_alice_system')).toEqual({
      sessionType: 4,
      userIDs: ['alice', 'system'],
    });
    expect(parseConversationID('sg_team')).toEqual({ sessionType: 3, groupID: 'team' });
  });

  it('keeps underscores inside a groupID', () => {
    expect(parseConversationID('sg_team_a_b')).toEqual({ sessionType: 3, groupID: 'team_a_b' });
  });

  it('parses userIDs holding `_` when only one split gives two sorted valid IDs', () => {
    // `a_b`+`c`: the split `a` / `b_c` is also sorted, so that one is ambiguous; this one is not.
    expect(parseConversationID('si_user_1_zed')).toEqual({
      sessionType: 1,
      userIDs: ['user_1', 'zed'],
    });
  });

  it('lets the owner choose between splits when userIDs holding `_` make it ambiguous', () => {
    // `a` with `b_c`, or `a_b` with `c`: both are sorted pairs of valid IDs.
    expect(parseConversationID('si_a_b_c')).toBeUndefined();
    expect(parseConversationID('si_a_b_c', 'c')).toEqual({
      sessionType: 1,
      userIDs: ['a_b', 'c'],
    });
    expect(parseConversationID('si_a_b_c', 'a_b')).toEqual({
      sessionType: 1,
      userIDs: ['a_b', 'c'],
    });
    expect(parseConversationID('si_a_b_c', 'b_c')).toEqual({
      sessionType: 1,
      userIDs: ['a', 'b_c'],
    });
  });

  it('rejects a single chat the owner is not part of', () => {
    expect(parseConversationID('si_alice_bob', 'carol')).toBeUndefined();
  });

  it.each([
    ['no prefix', 'alice_bob'],
    ['an unknown prefix', 'sx_alice_bob'],
    ["OpenIM's retired group prefix", 'g_team'],
    ['an empty groupID', 'sg_'],
    ['a groupID with a dot', 'sg_team.a'],
    ['a groupID of 65 characters', `sg_${'g'.repeat(65)}`],
    ['one userID only', 'si_alice'],
    ['an empty userID', 'si__'],
    ['unsorted userIDs', 'si_bob_alice'],
    ['a userID with a space', 'si_alice_bo b'],
    ['a userID with a star', 'sn_alice_*'],
    ['nothing', ''],
  ])('rejects %s', (_why, conversationID) => {
    expect(parseConversationID(conversationID)).toBeUndefined();
    expect(isWellFormedConversationID(conversationID)).toBe(false);
  });

  it('calls well-formed every ID it derives, ambiguous or not', () => {
    expect(isWellFormedConversationID('si_a_b_c')).toBe(true);
    fc.assert(
      fc.property(validID, validID, (a, b) => {
        expect(isWellFormedConversationID(singleConversationID(a, b))).toBe(true);
        expect(isWellFormedConversationID(notificationConversationID(a, b))).toBe(true);
        expect(isWellFormedConversationID(groupConversationID(a))).toBe(true);
      }),
    );
  });

  it('gives back, for either owner, a pair holding that owner that derives the same ID', () => {
    fc.assert(
      fc.property(validID, validID, fc.constantFrom(1, 4) as fc.Arbitrary<1 | 4>, (a, b, type) => {
        const conversationID = conversationIDFor(a, type, b);
        for (const owner of [a, b]) {
          const parsed = parseConversationID(conversationID, owner);
          if (parsed?.sessionType !== type) throw new Error(`${conversationID} did not parse`);
          expect(parsed.userIDs).toContain(owner);
          expect(conversationIDFor(parsed.userIDs[0], type, parsed.userIDs[1])).toBe(
            conversationID,
          );
        }
      }),
    );
  });

  it('gives back the exact two userIDs when the owner holds no `_`', () => {
    // With `_` in the owner too, si_<a>_<b> is not injective: si_a_b_a_b_a is both
    // (a_b, a_b_a) and (a_b_a, b_a), so no parser can tell which chat of a_b_a is meant.
    const plainID = validID.filter((id) => !id.includes('_'));
    fc.assert(
      fc.property(plainID, validID, fc.constantFrom(1, 4) as fc.Arbitrary<1 | 4>, (a, b, type) => {
        expect(parseConversationID(conversationIDFor(a, type, b), a)).toEqual({
          sessionType: type,
          userIDs: a < b ? [a, b] : [b, a],
        });
      }),
    );
  });

  it('gives back any derived group ID', () => {
    fc.assert(
      fc.property(validID, (groupID) => {
        expect(parseConversationID(groupConversationID(groupID))).toEqual({
          sessionType: 3,
          groupID,
        });
      }),
    );
  });

  it('needs no owner when the userIDs hold no `_`', () => {
    const plainID = validID.filter((id) => !id.includes('_'));
    fc.assert(
      fc.property(plainID, plainID, (a, b) => {
        expect(parseConversationID(singleConversationID(a, b))).toEqual({
          sessionType: 1,
          userIDs: a < b ? [a, b] : [b, a],
        });
      }),
    );
  });
});
