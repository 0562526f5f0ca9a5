import { z } from 'zod';
import type { Method } from './schemas.ts';

const seq = z.number().int().min(0);
const time = z.number().int().min(0);

/** SPEC §2's conversation item, exactly: a field more or less is a fault. */
export const conversationItemSchema = z.strictObject({
  conversationID: z.string(),
  conversationType: z.union([z.literal(1), z.literal(3), z.literal(4)]),
  userID: z.string(),
  groupID: z.string(),
  recvMsgOpt: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  recvMsgOptUntil: time,
  unreadCount: seq,
  groupAtType: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  latestMsg: z.string(),
  latestMsgSendTime: time,
  draftText: z.string(),
  draftTextTime: time,
  isPinned: z.boolean(),
  isPrivateChat: z.boolean(),
  burnDuration: z.number().int().min(0),
  isMsgDestruct: z.boolean(),
  msgDestructTime: z.number().int().min(1),
  latestMsgDestructTime: time,
  isNotInGroup: z.boolean(),
  isHidden: z.boolean(),
  isMarkedUnread: z.boolean(),
  conversationGroupIDs: z.array(z.string()),
  attachedInfo: z.string(),
  ex: z.string(),
  maxSeq: seq,
  minSeq: seq,
  hasReadSeq: seq,
  version: seq,
});

/** SPEC §8.1's conversation group, with its counts. */
export const conversationGroupItemSchema = z.strictObject({
  conversationGroupID: z.string(),
  name: z.string(),
  order: z.number().int(),
  ex: z.string(),
  conversationCount: seq,
  unreadCount: seq,
  version: seq,
});

/** Who caused a callback (SPEC §8.2 rule 25): the command's method, its ids, a message's clientMsgID. */
export const causeSchema = z.strictObject({
  method: z.string(),
  operationID: z.string().optional(),
  deviceID: z.string().optional(),
  clientMsgID: z.string().optional(),
});
export type Cause = z.infer<typeof causeSchema>;

const conversation = z.strictObject({ conversation: conversationItemSchema });
const group = z.strictObject({ group: conversationGroupItemSchema });
const conversations = z.strictObject({ conversations: z.array(conversationItemSchema) });
const total = z.strictObject({ total: z.number().int().min(0) });
const empty = z.strictObject({});

/** What each method answers when it succeeds (SPEC §4). */
export const replySchemas = {
  getAllConversationList: conversations,
  getConversationListSplit: conversations,
  getConversationListPage: z.strictObject({
    conversations: z.array(conversationItemSchema),
    nextCursor: z.string().nullable(),
  }),
  getOneConversation: conversation,
  getMultipleConversation: conversations,
  getTotalUnreadMsgCount: total,
  getConversationIDBySessionType: z.strictObject({ conversationID: z.string() }),
  syncConversations: z.strictObject({
    version: seq,
    full: z.boolean(),
    conversations: z.array(conversationItemSchema),
    deletedConversationIDs: z.array(z.string()),
    conversationGroups: z.array(conversationGroupItemSchema),
    nextCursor: z.string().nullable(),
  }),
  markConversationMessageAsRead: conversation,
  markSingleMessageHasRead: conversation,
  markGroupMessageHasRead: conversation,
  markAllConversationMessageAsRead: total,
  markConversationAsUnread: conversation,
  hideAllConversations: total,
  pinConversation: conversation,
  deleteConversation: empty,
  hideConversation: empty,
  clearConversationAndDeleteAllMsg: conversation,
  setConversationDraft: conversation,
  setConversationRecvMessageOpt: conversations,
  setConversation: conversation,
  recordMessage: z.strictObject({
    conversationID: z.string(),
    seq: z.number().int().min(1),
    duplicate: z.boolean(),
  }),
  joinGroup: empty,
  leaveGroup: empty,
  createConversationGroup: group,
  updateConversationGroup: group,
  deleteConversationGroup: empty,
  addConversationsToGroup: group,
  removeConversationsFromGroup: group,
  getConversationGroups: z.strictObject({ groups: z.array(conversationGroupItemSchema) }),
  explainUnread: z.strictObject({
    conversation: conversationItemSchema,
    inputs: z.strictObject({
      maxSeq: seq,
      hasReadSeq: seq,
      minSeq: seq,
      isNotInGroup: z.boolean(),
      isMarkedUnread: z.boolean(),
      recvMsgOpt: z.union([z.literal(0), z.literal(1), z.literal(2)]),
      isHidden: z.boolean(),
    }),
    countsInTotal: z.boolean(),
    reasons: z.array(z.string()),
    history: z.array(
      z.strictObject({
        version: seq,
        time: time,
        type: z.string(),
        cause: causeSchema.optional(),
        change: z.record(z.string(), z.strictObject({ from: z.unknown(), to: z.unknown() })),
      }),
    ),
  }),
  explainTotal: z.strictObject({
    total: seq,
    counted: z.array(z.strictObject({ conversationID: z.string(), unread: seq })),
    excluded: z.array(
      z.strictObject({ conversationID: z.string(), unread: seq, reason: z.string() }),
    ),
  }),
} satisfies Record<Method, z.ZodType>;

export type ReplyOf<M extends Method> = z.infer<(typeof replySchemas)[M]>;

/** The body of every failure (SPEC §4), beside the Nats-Service-Error headers. */
export const errorReplySchema = z.strictObject({
  errCode: z.number().int(),
  errMsg: z.string(),
  errDlt: z.string(),
});
export type ErrorReply = z.infer<typeof errorReplySchema>;

/** What each callback carries in `data` (SPEC §5). */
export const callbackDataSchemas = {
  OnNewConversation: z.array(conversationItemSchema),
  OnConversationChanged: z.array(conversationItemSchema),
  OnTotalUnreadMessageCountChanged: z.number().int().min(0),
  OnSyncServerStart: z.strictObject({ full: z.boolean() }),
  OnSyncServerProgress: z.strictObject({ progress: z.number().int().min(0).max(100) }),
  OnSyncServerFinish: z.strictObject({ full: z.boolean(), version: seq }),
  OnSyncServerFailed: z.strictObject({ full: z.boolean(), error: z.string() }),
  OnConversationGroupAdded: conversationGroupItemSchema,
  OnConversationGroupChanged: conversationGroupItemSchema,
  OnConversationGroupDeleted: z.strictObject({ conversationGroupID: z.string() }),
};

export type CallbackName = keyof typeof callbackDataSchemas;
export type CallbackDataOf<N extends CallbackName> = z.infer<(typeof callbackDataSchemas)[N]>;

/**
 * A callback's body on `<prefix>.events.<userID>.<callback>`; `cause` is left out for events
 * appended before causes were kept.
 */
export const callbackBodySchema = z.strictObject({
  userID: z.string(),
  version: seq,
  data: z.unknown(),
  cause: causeSchema.optional(),
});
