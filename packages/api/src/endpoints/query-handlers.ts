import {
  type ConversationItem,
  conversationIDFor,
  decodeCursor,
  encodeCursor,
  fail,
  listPosition,
  ok,
  toItem,
  unknownConversation,
  unknownConversationGroup,
} from '@im/domain';
import { readModel } from '@im/projector';
import { conversationsReply } from '../serialized-reply.ts';
import type { HandlerTable } from './handler.ts';

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

type QueryMethod =
  | 'getAllConversationList'
  | 'getConversationListSplit'
  | 'getConversationListPage'
  | 'getOneConversation'
  | 'getMultipleConversation'
  | 'getTotalUnreadMsgCount'
  | 'getConversationIDBySessionType'
  | 'getConversationGroups'
  | 'explainUnread'
  | 'explainTotal';

/**
 * The queries: answered from the read model as it is, waiting for nothing but, on a read
 * replica, the owner's own last write (read-replicas.ts).
 */
export const queryHandlers: HandlerTable<QueryMethod> = {
  async getAllConversationList(context, { userID }) {
    return ok(
      conversationsReply(
        await context.listCache.wholeList(await context.reads.forOwner(userID), userID),
      ),
    );
  },
  async getConversationListSplit(context, { userID, offset, count }) {
    return ok(
      conversationsReply(
        await readModel.listConversationsJSON(await context.reads.forOwner(userID), userID, {
          offset,
          limit: count,
        }),
      ),
    );
  },
  async getConversationListPage(context, { userID, cursor, limit, conversationGroupID }) {
    const after = cursor ? decodeCursor(cursor) : undefined;
    if (cursor && !after) return fail(400, 'cursor: not a cursor this API returned');
    const page = await readModel.listConversations(await context.reads.forOwner(userID), userID, {
      after,
      limit: limit + 1,
      ...(conversationGroupID === undefined ? {} : { conversationGroupID }),
    });
    if (conversationGroupID !== undefined && page.length === 0 && !cursor) {
      const groups = await readModel.conversationGroupFieldsOf(context.database.db, userID);
      if (!groups.has(conversationGroupID))
        return unknownConversationGroup(userID, conversationGroupID);
    }
    const conversations = fitting(page.slice(0, limit), context.maxPayload());
    const last = conversations.at(-1);
    return ok({
      conversations,
      nextCursor:
        page.length > conversations.length && last ? encodeCursor(listPosition(last)) : null,
    });
  },
  async getOneConversation(context, { userID, sessionType, sourceID }) {
    const conversationID = conversationIDFor(userID, sessionType, sourceID);
    const [state] = await readModel.getConversationStates(
      await context.reads.forOwner(userID),
      userID,
      [conversationID],
    );
    return state
      ? ok({ conversation: toItem(state) })
      : unknownConversation(userID, conversationID);
  },
  async getMultipleConversation(context, { userID, conversationIDs }) {
    const states = await readModel.getConversationStates(
      await context.reads.forOwner(userID),
      userID,
      conversationIDs,
    );
    return ok({ conversations: states.map(toItem) });
  },
  async getTotalUnreadMsgCount(context, { userID }) {
    return ok({ total: await readModel.totalUnread(await context.reads.forOwner(userID), userID) });
  },
  async getConversationIDBySessionType(_context, { userID, sessionType, sourceID }) {
    return ok({ conversationID: conversationIDFor(userID, sessionType, sourceID) });
  },
  async explainUnread(context, { userID, conversationID }) {
    // From the primary: the history is read from the log, which replicas may not have yet.
    const answer = await readModel.explainUnread(context.database.db, userID, conversationID);
    return answer ? ok(answer) : unknownConversation(userID, conversationID);
  },
  async explainTotal(context, { userID }) {
    return ok(await readModel.explainTotal(context.database.db, userID));
  },
  async getConversationGroups(context, { userID }) {
    return ok({
      groups: await readModel.conversationGroupsOf(await context.reads.forOwner(userID), userID),
    });
  },
};
