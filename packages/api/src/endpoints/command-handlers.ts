import {
  fail,
  groupConversationID,
  type OwnerCommand,
  ok,
  type RequestOf,
  type Result,
  singleConversationID,
  toItem,
} from '@im/domain';
import { readModel } from '@im/projector';
import { runConversationGroupCommand } from '../commands/conversation-group-commands.ts';
import { joinGroup, leaveGroup } from '../commands/group-membership.ts';
import {
  hideAll,
  markAllRead,
  runOnConversations,
  runOwnerCommand,
} from '../commands/owner-commands.ts';
import { recordMessage } from '../commands/record-message.ts';
import type { EngineContext } from '../context.ts';
import type { HandlerTable } from './handler.ts';

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
const groupReply = async (result: Promise<Result<unknown>>) => {
  const group = await result;
  return group.ok ? ok({ group: group.value }) : group;
};
const emptyReply = async (result: Promise<Result<unknown>>) => {
  const done = await result;
  return done.ok ? ok({}) : done;
};

/** The furthest a timed do-not-disturb may end (SPEC §8.2 rule 21). */
const YEAR_MS = 365 * 24 * 3600 * 1000;

const markRead = ownerCommand('MarkConversationRead', () => ({}));

/** Answers the owner's total after `run`: the reply of the commands on all conversations. */
const totalReply = async (context: EngineContext, owner: string, run: Promise<Result<void>>) => {
  const done = await run;
  return done.ok ? ok({ total: await readModel.totalUnread(context.database.db, owner) }) : done;
};

type CommandMethod =
  | 'markConversationMessageAsRead'
  | 'markSingleMessageHasRead'
  | 'markGroupMessageHasRead'
  | 'markAllConversationMessageAsRead'
  | 'markConversationAsUnread'
  | 'hideAllConversations'
  | 'pinConversation'
  | 'deleteConversation'
  | 'hideConversation'
  | 'clearConversationAndDeleteAllMsg'
  | 'setConversationDraft'
  | 'setConversationRecvMessageOpt'
  | 'setConversation'
  | 'recordMessage'
  | 'joinGroup'
  | 'leaveGroup'
  | 'createConversationGroup'
  | 'updateConversationGroup'
  | 'deleteConversationGroup'
  | 'addConversationsToGroup'
  | 'removeConversationsFromGroup';

/** The commands: each decides, appends, and answers once its effect is projected. */
export const commandHandlers: HandlerTable<CommandMethod> = {
  markConversationMessageAsRead: (context, request) =>
    conversationReply(
      ownerCommand('MarkConversationRead', (r: { upToSeq?: number }) =>
        r.upToSeq === undefined ? {} : { upToSeq: r.upToSeq },
      )(context, request),
    ),
  markSingleMessageHasRead: (context, { userID, uid }) =>
    conversationReply(
      markRead(context, { userID, conversationID: singleConversationID(userID, uid) }),
    ),
  markGroupMessageHasRead: (context, { userID, groupID }) =>
    conversationReply(markRead(context, { userID, conversationID: groupConversationID(groupID) })),
  markAllConversationMessageAsRead: (context, { userID }) =>
    totalReply(context, userID, markAllRead(context, userID)),
  markConversationAsUnread: (context, request) =>
    conversationReply(
      ownerCommand('MarkConversationUnread', (r: { fromSeq?: number }) =>
        r.fromSeq === undefined ? {} : { fromSeq: r.fromSeq },
      )(context, request),
    ),
  hideAllConversations: (context, { userID }) =>
    totalReply(context, userID, hideAll(context, userID)),
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
  async setConversationRecvMessageOpt(context, { userID, conversationIDs, opt, until }) {
    if (until !== undefined) {
      if (opt === 0) return fail(400, 'until: ends a do-not-disturb; opt 0 has none to end');
      const now = context.now();
      if (until <= now || until > now + YEAR_MS)
        return fail(400, `until: must be in the future and at most a year ahead (now is ${now})`);
    }
    const done = await runOnConversations(
      context,
      userID,
      [...new Set(conversationIDs)],
      (state) => ({
        type: 'ChangeSettings',
        owner: userID,
        conversationID: state.conversationID,
        settings: { recvMsgOpt: opt, recvMsgOptUntil: until ?? 0 },
      }),
    );
    return done.ok ? ok({ conversations: done.value.map(toItem) }) : done;
  },
  setConversation: (context, request) =>
    conversationReply(
      ownerCommand('ChangeSettings', (r: RequestOf<'setConversation'>) => {
        const { userID: _u, conversationID: _c, operationID: _o, deviceID: _d, ...settings } = r;
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
  createConversationGroup: (context, { userID, conversationGroupID, ...request }) =>
    groupReply(
      runConversationGroupCommand(context, {
        type: 'CreateConversationGroup',
        owner: userID,
        conversationGroupID,
        name: request.name,
        order: request.order ?? 0,
        ex: request.ex ?? '',
        conversationIDs: request.conversationIDs ?? [],
      }),
    ),
  updateConversationGroup: (context, { userID, conversationGroupID, name, order, ex }) =>
    groupReply(
      runConversationGroupCommand(context, {
        type: 'UpdateConversationGroup',
        owner: userID,
        conversationGroupID,
        ...(name === undefined ? {} : { name }),
        ...(order === undefined ? {} : { order }),
        ...(ex === undefined ? {} : { ex }),
      }),
    ),
  deleteConversationGroup: (context, { userID, conversationGroupID }) =>
    emptyReply(
      runConversationGroupCommand(context, {
        type: 'DeleteConversationGroup',
        owner: userID,
        conversationGroupID,
      }),
    ),
  addConversationsToGroup: (context, { userID, conversationGroupID, conversationIDs }) =>
    groupReply(
      runConversationGroupCommand(context, {
        type: 'AddConversationsToGroup',
        owner: userID,
        conversationGroupID,
        conversationIDs,
      }),
    ),
  removeConversationsFromGroup: (context, { userID, conversationGroupID, conversationIDs }) =>
    groupReply(
      runConversationGroupCommand(context, {
        type: 'RemoveConversationsFromGroup',
        owner: userID,
        conversationGroupID,
        conversationIDs,
      }),
    ),
};
