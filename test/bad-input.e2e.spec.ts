import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message, startTestEngine, type TestEngine } from './support/harness.ts';

const OWNER = 'bi-o';
const PEER = 'bi-p';
const GROUP = 'bi-g';
const SINGLE = 'si_bi-o_bi-p';

/** The owner's conversation group, as the set-up makes it (a create of it again changes nothing). */
const CONVERSATION_GROUP = {
  userID: OWNER,
  conversationGroupID: 'bi-cg',
  name: 'Work',
  order: 1,
  ex: 'e',
  conversationIDs: [SINGLE],
};

/** A valid request for every endpoint of SPEC §4 and §8.1, naming the owner's existing things. */
const valid: Record<string, Record<string, unknown>> = {
  getAllConversationList: { userID: OWNER },
  getConversationListSplit: { userID: OWNER, offset: 0, count: 10 },
  getConversationListPage: { userID: OWNER, limit: 10, conversationGroupID: 'bi-cg' },
  getOneConversation: { userID: OWNER, sessionType: 1, sourceID: PEER },
  getMultipleConversation: { userID: OWNER, conversationIDs: [SINGLE] },
  getTotalUnreadMsgCount: { userID: OWNER },
  getConversationIDBySessionType: { userID: OWNER, sessionType: 1, sourceID: PEER },
  syncConversations: { userID: OWNER, sinceVersion: 0 },
  markConversationMessageAsRead: { userID: OWNER, conversationID: SINGLE, upToSeq: 1 },
  markConversationAsUnread: { userID: OWNER, conversationID: SINGLE, fromSeq: 1 },
  hideAllConversations: { userID: OWNER },
  markSingleMessageHasRead: { userID: OWNER, uid: PEER },
  markGroupMessageHasRead: { userID: OWNER, groupID: GROUP },
  markAllConversationMessageAsRead: { userID: OWNER },
  pinConversation: { userID: OWNER, conversationID: SINGLE, isPinned: true },
  deleteConversation: { userID: OWNER, conversationID: SINGLE },
  hideConversation: { userID: OWNER, conversationID: SINGLE },
  clearConversationAndDeleteAllMsg: { userID: OWNER, conversationID: SINGLE },
  setConversationDraft: { userID: OWNER, conversationID: SINGLE, draftText: 'draft' },
  setConversationRecvMessageOpt: { userID: OWNER, conversationIDs: [SINGLE], opt: 1 },
  setConversation: {
    userID: OWNER,
    conversationID: SINGLE,
    isPinned: true,
    recvMsgOpt: 1,
    groupAtType: 0,
    isPrivateChat: true,
    burnDuration: 5,
    attachedInfo: 'a',
    ex: 'e',
  },
  recordMessage: {
    ...message({ clientMsgID: 'bi-valid', sendID: PEER, recvID: OWNER }),
    serverMsgID: 's1',
    atUserIDList: [],
  },
  joinGroup: { groupID: GROUP, userIDs: [OWNER] },
  leaveGroup: { groupID: GROUP, userIDs: ['bi-x'] },
  getConversationGroups: { userID: OWNER },
  explainUnread: { userID: OWNER, conversationID: SINGLE },
  explainTotal: { userID: OWNER },
  createConversationGroup: CONVERSATION_GROUP,
  updateConversationGroup: {
    userID: OWNER,
    conversationGroupID: 'bi-cg',
    name: 'Renamed',
    order: 2,
    ex: 'x',
  },
  addConversationsToGroup: {
    userID: OWNER,
    conversationGroupID: 'bi-cg',
    conversationIDs: [SINGLE],
  },
  removeConversationsFromGroup: {
    userID: OWNER,
    conversationGroupID: 'bi-cg',
    conversationIDs: [SINGLE],
  },
  // Last: the valid requests run in this order afterwards, and the others need the group.
  deleteConversationGroup: { userID: OWNER, conversationGroupID: 'bi-cg' },
};
const methods = Object.keys(valid);

/** Fields a request cannot leave out; every other field of `valid` is optional. */
const OPTIONAL = new Set([
  'getConversationListPage.cursor',
  'getConversationListPage.conversationGroupID',
  ...['order', 'ex', 'conversationIDs'].map((field) => `createConversationGroup.${field}`),
  ...['name', 'order', 'ex'].map((field) => `updateConversationGroup.${field}`),
  'syncConversations.sinceVersion',
  'markConversationMessageAsRead.upToSeq',
  'markConversationAsUnread.fromSeq',
  'recordMessage.serverMsgID',
  'recordMessage.recvID',
  'recordMessage.groupID',
  'recordMessage.atUserIDList',
  ...[
    'isPinned',
    'recvMsgOpt',
    'groupAtType',
    'isPrivateChat',
    'burnDuration',
    'attachedInfo',
    'ex',
  ].map((field) => `setConversation.${field}`),
]);

/** Fields holding a userID or groupID, and the ones holding lists of them. */
const ID_FIELDS = new Set([
  'userID',
  'uid',
  'groupID',
  'sourceID',
  'sendID',
  'recvID',
  'conversationGroupID',
]);
const ID_LIST_FIELDS = new Set(['userIDs', 'atUserIDList']);

const BAD_IDS: Array<[string, string]> = [
  ['a dot', 'bi.o'],
  ['a star', 'bi*'],
  ['a greater-than', 'bi>'],
  ['a space', 'bi o'],
  ['a tab', 'bi\to'],
  ['65 characters', 'a'.repeat(65)],
  ['nothing', ''],
  ['a non-ASCII letter', 'bé'],
];
const BAD_CONVERSATION_IDS: Array<[string, string]> = [
  ['a dot', 'si_bi.o_bi-p'],
  ['a star', 'sg_bi*'],
  ['a greater-than', 'sg_>'],
  ['a space', 'si_bi-o_bi p'],
  ['an unknown prefix', 'xx_bi-o_bi-p'],
  ['the retired group prefix', 'g_bi-g'],
  ['a 65-character groupID', `sg_${'a'.repeat(65)}`],
  ['a 65-character userID', `si_${'a'.repeat(65)}_bi-o`],
  ['one userID only', 'si_bi-o'],
  ['nothing after the prefix', 'sg_'],
];

interface Case {
  method: string;
  what: string;
  body: unknown;
  /** The field the error sentence must name. */
  field: string;
  codes: number[];
}

const mistyped = (value: unknown): unknown => {
  if (typeof value === 'string') return 42;
  if (typeof value === 'number') return '7';
  if (typeof value === 'boolean') return 'yes';
  if (Array.isArray(value)) return 'not a list';
  return [value];
};

const cases: Case[] = [];
const add = (method: string, what: string, body: unknown, field: string, codes = [400]) =>
  cases.push({ method, what, body, field, codes });
const withField = (method: string, field: string, value: unknown) => ({
  ...valid[method],
  [field]: value,
});

for (const method of methods) {
  const body = valid[method] as Record<string, unknown>;
  for (const [what, raw] of [
    ['malformed JSON', '{"userID": '],
    ['an empty body', ''],
    ['a JSON list', '[]'],
    ['JSON null', 'null'],
    ['a JSON string', '"bi-o"'],
    ['a JSON number', '42'],
  ] as const) {
    add(method, what, raw, 'request');
  }
  add(method, 'an unknown field', { ...body, isAdmin: true }, 'isAdmin');
  add(method, 'a mistyped operationID', { ...body, operationID: 42 }, 'operationID');
  add(method, 'a deviceID with a dot', { ...body, deviceID: 'phone.1' }, 'deviceID');
  for (const [field, value] of Object.entries(body)) {
    if (!OPTIONAL.has(`${method}.${field}`)) {
      const { [field]: _left, ...rest } = body;
      add(method, `no ${field}`, rest, field);
    }
    add(method, `a mistyped ${field}`, withField(method, field, mistyped(value)), field);
    if (!(method === 'getConversationListPage' && field === 'cursor')) {
      add(method, `a null ${field}`, withField(method, field, null), field);
    }
    if (ID_FIELDS.has(field)) {
      for (const [what, id] of BAD_IDS)
        add(method, `${field} with ${what}`, withField(method, field, id), field);
    }
    if (ID_LIST_FIELDS.has(field)) {
      for (const [what, id] of BAD_IDS)
        add(method, `${field} holding an ID with ${what}`, withField(method, field, [id]), field);
    }
    if (field === 'conversationID') {
      for (const [what, id] of BAD_CONVERSATION_IDS)
        add(method, `conversationID with ${what}`, withField(method, field, id), field);
    }
    if (field === 'conversationIDs') {
      for (const [what, id] of BAD_CONVERSATION_IDS)
        add(
          method,
          `conversationIDs holding an ID with ${what}`,
          withField(method, field, [SINGLE, id]),
          field,
        );
    }
    if (field === 'sessionType') {
      for (const type of [0, 2, 5, 1.5])
        add(method, `sessionType ${type}`, withField(method, field, type), field);
    }
  }
}

const TOO_LARGE = [400, 413];
const many = (n: number, id: (i: number) => string) => Array.from({ length: n }, (_, i) => id(i));

/** Values out of range, and oversize values (SPEC §4 limits): [method, what, field, value, codes]. */
const outOfRange: Array<[string, string, string, unknown, number[]?]> = [
  ['recordMessage', 'content over 16 KiB', 'content', 'x'.repeat(16 * 1024 + 1), [413]],
  ['recordMessage', 'content over 16 KiB of UTF-8', 'content', 'é'.repeat(8 * 1024 + 1), [413]],
  ['setConversationDraft', 'draftText over 4 KiB', 'draftText', 'd'.repeat(4097), TOO_LARGE],
  ['setConversation', 'attachedInfo over 4 KiB', 'attachedInfo', 'a'.repeat(4097), TOO_LARGE],
  ['setConversation', 'ex over 4 KiB', 'ex', 'e'.repeat(4097), TOO_LARGE],
  ['getConversationListSplit', 'count over 1000', 'count', 1001, TOO_LARGE],
  ['getConversationListSplit', 'count 0', 'count', 0],
  ['getConversationListSplit', 'a fractional count', 'count', 2.5],
  ['getConversationListSplit', 'a negative offset', 'offset', -1],
  ['getConversationListPage', 'limit over 1000', 'limit', 1001, TOO_LARGE],
  ['getConversationListPage', 'limit 0', 'limit', 0],
  ['getConversationListPage', 'a cursor it never returned', 'cursor', 'garbage'],
  [
    'getConversationListPage',
    'a cursor of the wrong shape',
    'cursor',
    Buffer.from('{"a":1}').toString('base64url'),
  ],
  [
    'getMultipleConversation',
    'over 1000 conversationIDs',
    'conversationIDs',
    many(1001, (i) => `si_bi-o_p${i}`),
    TOO_LARGE,
  ],
  [
    'setConversationRecvMessageOpt',
    'over 1000 conversationIDs',
    'conversationIDs',
    many(1001, (i) => `si_bi-o_p${i}`),
    TOO_LARGE,
  ],
  ['setConversationRecvMessageOpt', 'no conversationIDs', 'conversationIDs', []],
  ['setConversationRecvMessageOpt', 'opt 3', 'opt', 3],
  ['setConversationRecvMessageOpt', 'a fractional until', 'until', 1.5],
  ['setConversationRecvMessageOpt', 'an until of 0', 'until', 0],
  ['setConversation', 'recvMsgOpt 5', 'recvMsgOpt', 5],
  ['setConversation', 'groupAtType 9', 'groupAtType', 9],
  ['setConversation', 'a negative burnDuration', 'burnDuration', -1],
  ['setConversation', 'a msgDestructTime of 0', 'msgDestructTime', 0],
  ['syncConversations', 'a negative sinceVersion', 'sinceVersion', -1],
  ['syncConversations', 'a fractional sinceVersion', 'sinceVersion', 0.5],
  ['joinGroup', 'over 10 000 userIDs', 'userIDs', many(10_001, (i) => `u${i}`), TOO_LARGE],
  ['joinGroup', 'no userIDs', 'userIDs', []],
  ['leaveGroup', 'over 10 000 userIDs', 'userIDs', many(10_001, (i) => `u${i}`), TOO_LARGE],
  ['leaveGroup', 'no userIDs', 'userIDs', []],
  ['recordMessage', 'an empty clientMsgID', 'clientMsgID', ''],
  ['recordMessage', 'a negative sendTime', 'sendTime', -1],
  ['recordMessage', 'a sendTime beyond safe integers', 'sendTime', 2 ** 60],
  ['recordMessage', 'a fractional contentType', 'contentType', 1.5],
  ['recordMessage', 'a retired sessionType', 'sessionType', 2],
  ['markConversationMessageAsRead', 'a negative upToSeq', 'upToSeq', -1],
  ['markConversationMessageAsRead', 'a fractional upToSeq', 'upToSeq', 1.5],
  ['markConversationAsUnread', 'fromSeq 0', 'fromSeq', 0],
  ['markConversationAsUnread', 'a fractional fromSeq', 'fromSeq', 2.5],
  // Past the conversation's maxSeq: the decider refuses it, before anything is appended.
  ['markConversationAsUnread', 'a fromSeq past maxSeq', 'fromSeq', 99],
  ['createConversationGroup', 'an empty name', 'name', ''],
  ['createConversationGroup', 'a 65-character name', 'name', 'n'.repeat(65)],
  ['createConversationGroup', 'a fractional order', 'order', 1.5],
  ['createConversationGroup', 'ex over 4 KiB', 'ex', 'e'.repeat(4097), TOO_LARGE],
  [
    'createConversationGroup',
    'over 1000 conversationIDs',
    'conversationIDs',
    many(1001, (i) => `si_bi-o_p${i}`),
    TOO_LARGE,
  ],
  ['updateConversationGroup', 'an empty name', 'name', ''],
  ['addConversationsToGroup', 'no conversationIDs', 'conversationIDs', []],
  [
    'addConversationsToGroup',
    'over 1000 conversationIDs',
    'conversationIDs',
    many(1001, (i) => `si_bi-o_p${i}`),
    TOO_LARGE,
  ],
  ['removeConversationsFromGroup', 'no conversationIDs', 'conversationIDs', []],
];
for (const [method, what, field, value, codes] of outOfRange) {
  add(method, what, withField(method, field, value), field, codes);
}

// A message must name where it goes: the decider refuses it before anything is appended.
const { recvID: _recvID, ...noRecvID } = valid.recordMessage as Record<string, unknown>;
add('recordMessage', 'a group message without groupID', { ...noRecvID, sessionType: 3 }, 'groupID');
add('recordMessage', 'a single message without recvID', noRecvID, 'recvID');
add('recordMessage', 'a notification without recvID', { ...noRecvID, sessionType: 4 }, 'recvID');

/**
 * Values zod passes that PostgreSQL cannot store: each runs on an engine of its own, since one
 * that reached the log would stop the projector for everything after it.
 */
const unstorable: Array<[string, string, string, unknown]> = [
  ['recordMessage', 'content holding a NUL character', 'content', 'a\u0000b'],
  ['recordMessage', 'content holding a lone surrogate', 'content', 'a\uD800b'],
  ['recordMessage', 'a clientMsgID holding a NUL character', 'clientMsgID', 'c\u0000'],
  ['setConversationDraft', 'draftText holding a NUL character', 'draftText', 'd\u0000'],
  ['setConversation', 'ex holding a NUL character', 'ex', 'e\u0000'],
  ['setConversation', 'a burnDuration beyond 32 bits', 'burnDuration', 2 ** 31],
];

describe('bad input on every endpoint (SPEC §4, §7)', () => {
  let t: TestEngine;
  let before: { events: number; list: unknown; total: number };
  const snapshot = async () => ({
    events: await t.countEvents(),
    list: await t.list(OWNER),
    total: await t.total(OWNER),
  });

  beforeAll(async () => {
    t = await startTestEngine();
    await t.request('recordMessage', message({ clientMsgID: 'bi-1', sendID: PEER, recvID: OWNER }));
    await t.request('joinGroup', { groupID: GROUP, userIDs: [OWNER, PEER] });
    await t.request(
      'recordMessage',
      message({ clientMsgID: 'bi-2', sendID: PEER, groupID: GROUP }),
    );
    await t.request('createConversationGroup', CONVERSATION_GROUP);
    before = await snapshot();
  });
  afterAll(() => t.stop());

  it('covers every endpoint of SPEC §4 and §8.1', () => {
    expect(new Set(cases.map((c) => c.method)).size).toBe(32);
  });

  it.each(cases)(
    '$method: $what answers 4xx naming $field, changing nothing',
    async ({ method, body, field, codes }) => {
      const reply = await t.raw(method, body);
      expect(codes).toContain(reply.code);
      expect(reply.error).toContain(field);
      expect(reply.body).toEqual({
        errCode: reply.code,
        errMsg: reply.error,
        errDlt: expect.any(String),
      });
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each(methods)('%s answers bytes that are not UTF-8 JSON with 400', async (method) => {
    const msg = await t.nc.request(
      `${t.config.SUBJECT_PREFIX}.${method}`,
      new Uint8Array([0xff, 0xfe, 0x7b, 0x00]),
      { timeout: 30_000 },
    );
    expect(msg.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(msg.headers?.get('Nats-Service-Error')).toContain('request');
    expect(await snapshot()).toEqual(before);
  });

  it.each(methods)(
    '%s still serves a valid request afterwards, with an operationID',
    async (method) => {
      const reply = await t.raw(method, {
        ...valid[method],
        operationID: `op-${method}`,
      });
      expect(reply).toMatchObject({ code: undefined, error: undefined });
    },
  );
});

describe('values that storage cannot hold (SPEC §7: 4xx, nothing appended, still serving)', () => {
  it.each(unstorable)('%s: %s answers 400 naming %s', async (method, _what, field, value) => {
    const t = await startTestEngine();
    try {
      await t.request(
        'recordMessage',
        message({ clientMsgID: 'u-1', sendID: PEER, recvID: OWNER }),
      );
      const events = await t.countEvents();
      const reply = await t.raw(method, { ...valid[method], [field]: value });
      expect(reply.code).toBe(400);
      expect(reply.error).toContain(field);
      expect(await t.countEvents()).toBe(events);
      // Still serving, projector included: a message afterwards is read back at once.
      await t.request(
        'recordMessage',
        message({ clientMsgID: 'u-2', sendID: PEER, recvID: OWNER }),
      );
      expect(await t.total(OWNER)).toBe(2);
    } finally {
      await t.stop();
    }
  });
});
