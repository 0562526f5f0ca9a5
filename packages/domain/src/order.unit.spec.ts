import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareListPositions,
  decodeCursor,
  encodeCursor,
  type ListPosition,
  listPosition,
} from './order.ts';

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

// Few IDs and times, so that ties are frequent.
const conversationID = fc.constantFrom('sg_a', 'sg_b', 'si_a_b', 'si_a_c', 'sn_a_z', 'si_B_a');
const position: fc.Arbitrary<ListPosition> = fc.record({
  isPinned: fc.boolean(),
  sortTime: fc.integer({ min: 0, max: 4 }),
  conversationID,
});
/** One owner's list: one position per conversation. */
const list = fc.uniqueArray(position, {
  selector: (p) => p.conversationID,
  minLength: 0,
  maxLength: 6,
});

const sorted = (positions: readonly ListPosition[]) => [...positions].sort(compareListPositions);

/** A keyset page as the list queries define it: the positions strictly after the cursor. */
const page = (positions: readonly ListPosition[], cursor: string | null, limit: number) => {
  const after = cursor === null ? undefined : decodeCursor(cursor);
  const rest = sorted(positions).filter(
    (p) => after === undefined || compareListPositions(after, p) < 0,
  );
  const items = rest.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rest.length > limit && last ? encodeCursor(last) : null };
};

describe('list order (SPEC §2)', () => {
  it('puts pinned first, then the newest of message or draft time, then conversationID', () => {
    const items = [
      { conversationID: 'si_a_old', isPinned: false, latestMsgSendTime: 10, draftTextTime: 0 },
      { conversationID: 'si_a_draft', isPinned: false, latestMsgSendTime: 5, draftTextTime: 50 },
      { conversationID: 'si_a_new', isPinned: false, latestMsgSendTime: 40, draftTextTime: 0 },
      { conversationID: 'sg_tie_b', isPinned: false, latestMsgSendTime: 40, draftTextTime: 0 },
      { conversationID: 'si_a_pin', isPinned: true, latestMsgSendTime: 1, draftTextTime: 0 },
      { conversationID: 'sg_pin', isPinned: true, latestMsgSendTime: 2, draftTextTime: 0 },
    ];
    expect(sorted(items.map(listPosition)).map((p) => p.conversationID)).toEqual([
      'sg_pin',
      'si_a_pin',
      'si_a_draft',
      'sg_tie_b',
      'si_a_new',
      'si_a_old',
    ]);
  });

  it('is reflexive and antisymmetric, and equal only for the same position', () => {
    fc.assert(
      fc.property(position, position, (a, b) => {
        expect(compareListPositions(a, a)).toBe(0);
        expect(sign(compareListPositions(a, b)) + sign(compareListPositions(b, a))).toBe(0);
        if (compareListPositions(a, b) === 0) expect(a).toEqual(b);
      }),
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(position, position, position, (a, b, c) => {
        if (compareListPositions(a, b) <= 0 && compareListPositions(b, c) <= 0) {
          expect(compareListPositions(a, c)).toBeLessThanOrEqual(0);
        }
        if (compareListPositions(a, b) < 0 && compareListPositions(b, c) < 0) {
          expect(compareListPositions(a, c)).toBeLessThan(0);
        }
      }),
    );
  });

  it('sorts any permutation of a list to the same order, equal times never swapping', () => {
    fc.assert(
      fc.property(
        list.chain((positions) =>
          fc.tuple(
            fc.constant(positions),
            fc.shuffledSubarray(positions, {
              minLength: positions.length,
              maxLength: positions.length,
            }),
          ),
        ),
        ([positions, shuffled]) => {
          expect(sorted(shuffled)).toEqual(sorted(positions));
        },
      ),
    );
  });

  it('follows the rule between any two neighbours of a sorted list', () => {
    fc.assert(
      fc.property(list, (positions) => {
        const order = sorted(positions);
        for (let i = 1; i < order.length; i++) {
          const [before, after] = [order[i - 1], order[i]] as [ListPosition, ListPosition];
          if (before.isPinned !== after.isPinned) expect(before.isPinned).toBe(true);
          else if (before.sortTime !== after.sortTime)
            expect(before.sortTime).toBeGreaterThan(after.sortTime);
          else expect(before.conversationID < after.conversationID).toBe(true);
        }
      }),
    );
  });

  it('pages with keyset cursors to the whole list, without overlap or gap', () => {
    fc.assert(
      fc.property(list, fc.integer({ min: 1, max: 4 }), (positions, limit) => {
        const pages: ListPosition[] = [];
        let cursor: string | null = null;
        for (let i = 0; i <= positions.length; i++) {
          const next = page(positions, cursor, limit);
          pages.push(...next.items);
          cursor = next.nextCursor;
          if (cursor === null) break;
        }
        expect(cursor).toBeNull();
        expect(pages).toEqual(sorted(positions));
      }),
    );
  });
});

describe('keyset cursor', () => {
  const anyPosition: fc.Arbitrary<ListPosition> = fc.record({
    isPinned: fc.boolean(),
    sortTime: fc.maxSafeInteger(),
    conversationID: fc.string({ unit: 'binary', maxLength: 140 }),
  });

  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(anyPosition, (p) => {
        expect(decodeCursor(encodeCursor(p))).toEqual(p);
      }),
    );
  });

  it('is opaque: URL-safe characters only', () => {
    fc.assert(
      fc.property(anyPosition, (p) => {
        expect(encodeCursor(p)).toMatch(/^[A-Za-z0-9_-]*$/);
      }),
    );
  });

  it('never throws on garbage; what it accepts is a position that encodes back', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (cursor) => {
        const decoded = decodeCursor(cursor);
        if (decoded !== undefined) expect(decodeCursor(encodeCursor(decoded))).toEqual(decoded);
      }),
    );
  });

  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  it.each([
    ['empty', ''],
    ['not JSON', encode('x').slice(1)],
    ['an object', encode({ isPinned: 1, sortTime: 1, conversationID: 'sg_a' })],
    ['a pin flag of 2', encode([2, 1, 'sg_a'])],
    ['a pin flag of true', encode([true, 1, 'sg_a'])],
    ['a fractional time', encode([0, 1.5, 'sg_a'])],
    ['an unsafe time', encode([0, 2 ** 60, 'sg_a'])],
    ['a numeric conversationID', encode([0, 1, 7])],
    ['a fourth element', encode([0, 1, 'sg_a', 0])],
  ])('rejects %s', (_why, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});
