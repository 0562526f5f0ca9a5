/** userID / groupID: they end up in NATS subjects, so `.`, `*`, `>` and whitespace are excluded. */
export const ID_PATTERN = /^[A-Za-z0-9_\-@:+=]{1,64}$/;

export const SessionType = { single: 1, group: 3, notification: 4 } as const;
export type SessionType = (typeof SessionType)[keyof typeof SessionType];

export const isValidID = (id: string): boolean => ID_PATTERN.test(id);

const pair = (a: string, b: string): string => (a < b ? `${a}_${b}` : `${b}_${a}`);

export const singleConversationID = (a: string, b: string): string => `si_${pair(a, b)}`;
export const notificationConversationID = (a: string, b: string): string => `sn_${pair(a, b)}`;
export const groupConversationID = (groupID: string): string => `sg_${groupID}`;

/** The conversation an owner means by (sessionType, sourceID): the peer's userID or the groupID. */
export const conversationIDFor = (
  owner: string,
  sessionType: SessionType,
  sourceID: string,
): string => {
  switch (sessionType) {
    case SessionType.single:
      return singleConversationID(owner, sourceID);
    case SessionType.notification:
      return notificationConversationID(owner, sourceID);
    case SessionType.group:
      return groupConversationID(sourceID);
  }
};

/** Every way to read `<a>_<b>` as two valid userIDs in sorted order; several when IDs hold `_`. */
const userIDPairs = function* (pair: string): Generator<readonly [string, string]> {
  for (let i = pair.indexOf('_'); i !== -1; i = pair.indexOf('_', i + 1)) {
    const a = pair.slice(0, i);
    const b = pair.slice(i + 1);
    if (isValidID(a) && isValidID(b) && a <= b) yield [a, b];
  }
};

/** Whether an ID has the shape SPEC §1 derives: `sg_<groupID>`, or `si_`/`sn_` and two sorted userIDs. */
export const isWellFormedConversationID = (conversationID: string): boolean => {
  const prefix = conversationID.slice(0, 3);
  const rest = conversationID.slice(3);
  if (prefix === 'sg_') return isValidID(rest);
  if (prefix !== 'si_' && prefix !== 'sn_') return false;
  return !userIDPairs(rest).next().done;
};

export type ParsedConversationID =
  | { sessionType: 1 | 4; userIDs: readonly [string, string] }
  | { sessionType: 3; groupID: string };

/**
 * Parses a conversationID. Single and notification IDs are ambiguous when a userID holds `_`,
 * so the owner disambiguates: the owner must be one of the two sorted parts.
 */
export const parseConversationID = (
  conversationID: string,
  owner?: string,
): ParsedConversationID | undefined => {
  const prefix = conversationID.slice(0, 3);
  const rest = conversationID.slice(3);
  if (prefix === 'sg_') return isValidID(rest) ? { sessionType: 3, groupID: rest } : undefined;
  if (prefix !== 'si_' && prefix !== 'sn_') return undefined;
  const sessionType = prefix === 'si_' ? 1 : 4;
  const candidates = [...userIDPairs(rest)];
  const chosen =
    owner === undefined
      ? candidates.length === 1
        ? candidates[0]
        : undefined
      : candidates.find(([a, b]) => a === owner || b === owner);
  return chosen ? { sessionType, userIDs: chosen } : undefined;
};
