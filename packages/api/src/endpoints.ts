import {
  type ConversationItem,
  conversationIDFor,
  decodeCursor,
  encodeCursor,
  fail,
  groupConversationID,
  listPosition,
  type Method,
  type OwnerCommand,
  ok,
  type RequestOf,
  type Result,
  singleConversationID,
  toItem,
} from '@im/domain';
import { readModel } from '@im/projector';
import { joinGroup, leaveGroup } from './commands/group-membership.ts';
import {
  currentItem,
  markAllRead,
  runOnConversations,
  runOwnerCommand,
} from './commands/owner-commands.ts';
import { recordMessage } from './commands/record-message.ts';
import type { EngineContext } from './context.ts';
import { conversationsReply } from './serialized-reply.ts';
import type { SyncHandler } from './sync.ts';

type Handler<M extends Method> = (
  context: EngineContext,
  request: RequestOf<M>,
) => Promise<Result<unknown>>;
export type Handlers = { [M in Method]: Handler<M> };

type OwnerCommandOf<T extends OwnerCommand['type']> = Omit<
  Extract<OwnerCommand, { type: T }>,
  'type' | 'owner' | 'conversationID'
>;

/** An owner command on one conversation, answered with the conversation afterwards. */
const ownerCommand =
  <T extends OwnerCommand['type']>(type: T, pick: (request: never) => OwnerCommandOf<T>) =>
  (context: EngineContext, request: { userID: string; conversationID: string }) =>
    runOwnerCommand(context, {
      type,
      owner: request.userID,
      conversationID: request.conversationID,
      ...pick(request as never),
    } as OwnerCommand);

const conversationReply = async (result: Promise<Result<unknown>>) => {
  const item = await result;
  return item.ok ? ok({ conversation: item.value }) : item;
};
const emptyReply = async (result: Promise<Result<unknown>>) => {
  const done = await result;
  return done.ok ? ok({}) : done;
};

const markRead = ownerCommand('MarkConversationRead', () => ({}));

/** Room in a page's reply for everything around its items: the braces and the cursor. */
const PAGE_ENVELOPE_BYTES = 1024;

/**
 * The longest head of `items` whose reply fits in `maxBytes`, at least one item: a page holds
 * fewer than its limit rather than exceed the NATS payload limit, so paging reaches any list.
 */
const fitting = (items: ConversationItem[], maxBytes: number): ConversationItem[] => {
  let bytes = PAGE_ENVELOPE_BYTES;
  for (const [index, item] of items.entries()) {
    bytes += Buffer.byteLength(JSON.stringify(item)) + 1;
    if (bytes > maxBytes) return items.slice(0, Math.max(1, index));
  }
  return items;
};

export const createHandlers = (sync: SyncHandler): Handlers => ({
  async getAllConversationList(context, { userID }) {
    return ok(conversationsReply(await context.listCache.wholeList(context.database.db, userID)));
  },
  async getConversationListSplit(context, { userID, offset, count }) {
    return ok(
      conversationsReply(
        await readModel.listConversationsJSON(context.database.db, userID, {
          offset,
          limit: count,
        }),
      ),
    );
  },
  async getConversationListPage(context, { userID, cursor, limit }) {
    const after = cursor ? decodeCursor(cursor) : undefined;
    if (cursor && !after) return fail(400, 'cursor: not a cursor this API returned');
    const page = await readModel.listConversations(context.database.db, userID, {
      after,
      limit: limit + 1,
    });
    const conversations = fitting(page.slice(0, limit), context.maxPayload());
    const last = conversations.at(-1);
    return ok({
      conversations,
      nextCursor:
        page.length > conversations.length && last ? encodeCursor(listPosition(last)) : null,
    });
  },
  async getOneConversation(context, { userID, sessionType, sourceID }) {
    return conversationReply(
      currentItem(context, userID, conversationIDFor(userID, sessionType, sourceID)),
    );
  },
  async getMultipleConversation(context, { userID, conversationIDs }) {
    const states = await readModel.getConversationStates(
      context.database.db,
      userID,
      conversationIDs,
    );
    return ok({ conversations: states.map(toItem) });
  },
  async getTotalUnreadMsgCount(context, { userID }) {
    return ok({ total: await readModel.totalUnread(context.database.db, userID) });
  },
  async getConversationIDBySessionType(_context, { userID, sessionType, sourceID }) {
    return ok({ conversationID: conversationIDFor(userID, sessionType, sourceID) });
  },
  syncConversations: (context, request) => sync(context, request),
  markConversationMessageAsRead: (context, request) =>
    conversationReply(markRead(context, request)),
  markSingleMessageHasRead: (context, { userID, uid }) =>
    conversationReply(
      markRead(context, { userID, conversationID: singleConversationID(userID, uid) }),
    ),
  markGroupMessageHasRead: (context, { userID, groupID }) =>
    conversationReply(markRead(context, { userID, conversationID: groupConversationID(groupID) })),
  async markAllConversationMessageAsRead(context, { userID }) {
    const done = await markAllRead(context, userID);
    return done.ok ? ok({ total: await readModel.totalUnread(context.database.db, userID) }) : done;
  },
  pinConversation: (context, request) =>
    conversationReply(
      ownerCommand('ChangeSettings', (r: { isPinned: boolean }) => ({
        settings: { isPinned: r.isPinned },
      }))(context, request),
    ),
  deleteConversation: (context, request) =>
    emptyReply(ownerCommand('DeleteConversation', () => ({}))(context, request)),
  hideConversation: (context, request) =>
    emptyReply(ownerCommand('HideConversation', () => ({}))(context, request)),
  clearConversationAndDeleteAllMsg: (context, request) =>
    conversationReply(ownerCommand('ClearConversation', () => ({}))(context, request)),
  setConversationDraft: (context, request) =>
    conversationReply(
      ownerCommand('SetDraft', (r: { draftText: string }) => ({ draftText: r.draftText }))(
        context,
        request,
      ),
    ),
  async setConversationRecvMessageOpt(context, { userID, conversationIDs, opt }) {
    const done = await runOnConversations(
      context,
      userID,
      [...new Set(conversationIDs)],
      (state) => ({
        type: 'ChangeSettings',
        owner: userID,
        conversationID: state.conversationID,
        settings: { recvMsgOpt: opt },
      }),
    );
    return done.ok ? ok({ conversations: done.value.map(toItem) }) : done;
  },
  setConversation: (context, request) =>
    conversationReply(
      ownerCommand('ChangeSettings', (r: RequestOf<'setConversation'>) => {
        const { userID: _u, conversationID: _c, operationID: _o, ...settings } = r;
        return { settings };
      })(context, request),
    ),
  recordMessage: (context, request) =>
    recordMessage(context, {
      clientMsgID: request.clientMsgID,
      serverMsgID: request.serverMsgID ?? '',
      sendID: request.sendID,
      recvID: request.recvID ?? '',
      groupID: request.groupID ?? '',
      sessionType: request.sessionType,
      contentType: request.contentType,
      content: request.content,
      sendTime: request.sendTime,
      atUserIDList: request.atUserIDList ?? [],
    }),
  joinGroup: (context, request) => joinGroup(context, request),
  leaveGroup: (context, request) => leaveGroup(context, request),
});
