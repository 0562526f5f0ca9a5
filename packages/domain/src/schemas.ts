import { z } from 'zod';
import { ID_PATTERN, isWellFormedConversationID } from './ids.ts';

const id = (what: string) =>
  z
    .string({ error: `must be a string (${what})` })
    .regex(ID_PATTERN, { error: `must be 1–64 characters from A–Z a–z 0–9 _ - @ : + = (${what})` });

const userID = id('a userID');
const groupID = id('a groupID');
const conversationID = z.string({ error: 'must be a string' }).refine(isWellFormedConversationID, {
  error: 'must be si_<a>_<b> or sn_<a>_<b> (two userIDs, sorted) or sg_<groupID>',
});
const sessionType = z.union([z.literal(1), z.literal(3), z.literal(4)], {
  error: 'must be 1 (single), 3 (group) or 4 (notification)',
});
const count = (max: number) =>
  z
    .number()
    .int()
    .min(1)
    .max(max, { error: `must be at most ${max}` });
const bytesAtMost = (max: number) =>
  z.string().refine((value) => Buffer.byteLength(value, 'utf8') <= max, {
    error: `must be at most ${max} bytes`,
    params: { oversize: true },
  });
const operationID = z.string().max(256).optional();
/** The device that acted (SPEC §8.2 rule 25), as userIDs are written; callbacks name it. */
const deviceID = z
  .string({ error: 'must be a string (a deviceID)' })
  .regex(ID_PATTERN, {
    error: 'must be 1–64 characters from A–Z a–z 0–9 _ - @ : + = (a deviceID)',
  })
  .optional();

/** A UTF-16 surrogate not paired with its other half: with the `u` flag, pairs match as one code point. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The first string in `value` PostgreSQL could not store, with where it is and why: its text and
 * jsonb hold neither U+0000 nor unpaired surrogates, though JSON carries both. Such a request is
 * bad input, refused at the edge with the field named: it never reaches the log, where it would
 * fail as a 500 or, had it got in, stop the projector.
 */
const unstorable = (
  value: unknown,
  path: Array<string | number> = [],
): { path: Array<string | number>; message: string } | undefined => {
  if (typeof value === 'string') {
    if (value.includes('\u0000'))
      return { path, message: 'must not contain the NUL character (U+0000)' };
    if (LONE_SURROGATE.test(value))
      return { path, message: 'must be well-formed Unicode (it holds an unpaired surrogate)' };
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const found = unstorable(inner, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found) return found;
  }
  return undefined;
};

/**
 * Every request: strict (unknown fields rejected), `operationID` and `deviceID` accepted
 * everywhere, every string one PostgreSQL can store.
 */
const request = <Shape extends z.ZodRawShape>(shape: Shape) =>
  z.strictObject({ ...shape, operationID, deviceID }).superRefine((value, context) => {
    const found = unstorable(value);
    if (found) context.addIssue({ code: 'custom', path: found.path, message: found.message });
  });

const owned = { userID, conversationID };

export const DRAFT_MAX_BYTES = 4 * 1024;
export const CONTENT_MAX_BYTES = 16 * 1024;
export const LIST_MAX = 1000;
export const GROUP_BATCH_MAX = 10_000;
/** burnDuration is stored as a 32-bit integer. */
const INT32_MAX = 2_147_483_647;

const conversationGroupID = id('a conversationGroupID');
const groupName = z
  .string()
  .min(1, { error: 'must be 1–64 characters' })
  .max(64, { error: 'must be 1–64 characters' });
const groupOrder = z.number().int().min(-INT32_MAX).max(INT32_MAX);
const groupedConversations = (min: number) =>
  z
    .array(conversationID)
    .min(min)
    .max(LIST_MAX, { error: `must hold at most ${LIST_MAX}` });

export const requestSchemas = {
  getAllConversationList: request({ userID }),
  getConversationListSplit: request({
    userID,
    offset: z.number().int().min(0),
    count: count(LIST_MAX),
  }),
  getConversationListPage: request({
    userID,
    cursor: z.string().max(1024).nullable().optional(),
    limit: count(LIST_MAX),
    conversationGroupID: conversationGroupID.optional(),
  }),
  getOneConversation: request({ userID, sessionType, sourceID: id('a userID or groupID') }),
  getMultipleConversation: request({
    userID,
    conversationIDs: z
      .array(conversationID)
      .max(LIST_MAX, { error: `must hold at most ${LIST_MAX}` }),
  }),
  getTotalUnreadMsgCount: request({ userID }),
  getConversationIDBySessionType: request({
    userID,
    sessionType,
    sourceID: id('a userID or groupID'),
  }),
  syncConversations: request({
    userID,
    sinceVersion: z.number().int().min(0).optional(),
    limit: count(LIST_MAX).optional(),
    cursor: z.string().max(1024).optional(),
  }),
  markConversationMessageAsRead: request({
    ...owned,
    upToSeq: z.number().int().min(0).optional(),
  }),
  markConversationAsUnread: request({ ...owned, fromSeq: z.number().int().min(1).optional() }),
  hideAllConversations: request({ userID }),
  markSingleMessageHasRead: request({ userID, uid: userID }),
  markGroupMessageHasRead: request({ userID, groupID }),
  markAllConversationMessageAsRead: request({ userID }),
  pinConversation: request({ ...owned, isPinned: z.boolean() }),
  deleteConversation: request(owned),
  hideConversation: request(owned),
  clearConversationAndDeleteAllMsg: request(owned),
  setConversationDraft: request({ ...owned, draftText: bytesAtMost(DRAFT_MAX_BYTES) }),
  setConversationRecvMessageOpt: request({
    userID,
    conversationIDs: z
      .array(conversationID)
      .min(1)
      .max(LIST_MAX, { error: `must hold at most ${LIST_MAX}` }),
    opt: z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'must be 0, 1 or 2' }),
    /** When the do-not-disturb ends by itself, ms since epoch (SPEC §8.2 rule 21). */
    until: z.number().int().min(1).optional(),
  }),
  setConversation: request({
    ...owned,
    isPinned: z.boolean().optional(),
    recvMsgOpt: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    groupAtType: z
      .union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)])
      .optional(),
    isPrivateChat: z.boolean().optional(),
    burnDuration: z
      .number()
      .int()
      .min(0)
      .max(INT32_MAX, { error: `must be at most ${INT32_MAX}` })
      .optional(),
    attachedInfo: bytesAtMost(DRAFT_MAX_BYTES).optional(),
    ex: bytesAtMost(DRAFT_MAX_BYTES).optional(),
    isMsgDestruct: z.boolean().optional(),
    /** Seconds (SPEC §8.2 rule 22). */
    msgDestructTime: z
      .number()
      .int()
      .min(1)
      .max(INT32_MAX, { error: `must be at most ${INT32_MAX}` })
      .optional(),
  }),
  recordMessage: request({
    clientMsgID: z.string().min(1).max(128),
    serverMsgID: z.string().max(128).optional(),
    sendID: userID,
    recvID: userID.optional(),
    groupID: groupID.optional(),
    sessionType,
    contentType: z.number().int().min(0),
    content: bytesAtMost(CONTENT_MAX_BYTES),
    sendTime: z.number().int().min(0),
    atUserIDList: z
      .array(z.union([userID, z.literal('AtAllTag')]))
      .max(1000)
      .optional(),
  }),
  joinGroup: request({ groupID, userIDs: z.array(userID).min(1).max(GROUP_BATCH_MAX) }),
  leaveGroup: request({ groupID, userIDs: z.array(userID).min(1).max(GROUP_BATCH_MAX) }),
  createConversationGroup: request({
    userID,
    conversationGroupID,
    name: groupName,
    order: groupOrder.optional(),
    ex: bytesAtMost(DRAFT_MAX_BYTES).optional(),
    conversationIDs: groupedConversations(0).optional(),
  }),
  updateConversationGroup: request({
    userID,
    conversationGroupID,
    name: groupName.optional(),
    order: groupOrder.optional(),
    ex: bytesAtMost(DRAFT_MAX_BYTES).optional(),
  }),
  deleteConversationGroup: request({ userID, conversationGroupID }),
  addConversationsToGroup: request({
    userID,
    conversationGroupID,
    conversationIDs: groupedConversations(1),
  }),
  removeConversationsFromGroup: request({
    userID,
    conversationGroupID,
    conversationIDs: groupedConversations(1),
  }),
  getConversationGroups: request({ userID }),
  explainUnread: request(owned),
  explainTotal: request({ userID }),
};

export type Method = keyof typeof requestSchemas;
export type RequestOf<M extends Method> = z.infer<(typeof requestSchemas)[M]>;

/** Oversize values (content, drafts and other texts with a byte limit) answer 413 (SPEC §4). */
const isOversize = (issue: z.core.$ZodIssue) =>
  issue.code === 'custom' &&
  (issue.params as { oversize?: boolean } | undefined)?.oversize === true;

/** zod issues → one sentence naming the field and the problem, and the status it deserves. */
export const describeIssues = (error: z.ZodError): { code: 400 | 413; message: string } => {
  const sentences = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.join('.') || 'request';
    if (issue.code === 'unrecognized_keys') {
      return `${issue.keys.join(', ')}: unknown field${issue.keys.length > 1 ? 's' : ''}`;
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) return `${path}: is required`;
    return `${path}: ${issue.message}`;
  });
  const oversize = error.issues.some(isOversize);
  return { code: oversize ? 413 : 400, message: sentences.join('; ') };
};
