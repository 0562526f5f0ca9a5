import { randomUUID } from 'node:crypto';
import {
  type ConversationGroupItem,
  type ConversationItem,
  decodeSyncCursor,
  encodeSyncCursor,
  fail,
  type ListPosition,
  listPosition,
  ok,
  type RequestOf,
  type Result,
  type SyncProgress,
} from '@im/domain';
import { type CallbackName, publishCallbacks, readModel } from '@im/projector';
import type { JetStreamClient } from 'nats';
import type { EngineContext } from './context.ts';

export type SyncHandler = (
  context: EngineContext,
  request: RequestOf<'syncConversations'>,
) => Promise<Result<unknown>>;

export interface SyncAnswer {
  version: number;
  full: boolean;
  conversations: ConversationItem[];
  deletedConversationIDs: string[];
  /** Every conversation group of the owner's (SPEC §8.1), whatever the version asked from. */
  conversationGroups: ConversationGroupItem[];
  /**
   * Set when a full answer has more than `limit` conversations, or more than one NATS message
   * holds: continue with syncConversations {userID, cursor} (or getConversationListPage from it),
   * then sync incrementally from `version`.
   */
  nextCursor: string | null;
}

/** Room in the reply for everything but the conversations: version, flags, cursor. */
const ENVELOPE_BYTES = 1024;
const PAGE = 500;

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value)) + 1;

/**
 * Listed conversations in list order after `after`, at most `limit`, as many as fit in `budget`
 * bytes; `more` says whether any are left after them.
 */
const listedPage = async (
  db: EngineContext['database']['db'],
  userID: string,
  page: { after: ListPosition | undefined; limit: number; budget: number },
): Promise<{ conversations: ConversationItem[]; more: boolean }> => {
  const conversations: ConversationItem[] = [];
  let used = 0;
  let after = page.after;
  for (;;) {
    const want = Math.min(PAGE, page.limit - conversations.length + 1);
    const read = await readModel.listConversations(db, userID, { after, limit: want });
    for (const item of read) {
      used += bytesOf(item);
      if (used > page.budget || conversations.length === page.limit)
        return { conversations, more: true };
      conversations.push(item);
    }
    const last = read.at(-1);
    if (read.length < want || !last) return { conversations, more: false };
    after = listPosition(last);
  }
};

/** An answer, and where a paged full sync stands after it (none for one page). */
type Answered = { answer: SyncAnswer; progress: number | undefined };

/** A full sync's page: the first (at `version`, of `total`) or one after `cursor`'s. */
const fullSyncPage = async (
  db: EngineContext['database']['db'],
  userID: string,
  from: { after: ListPosition | undefined; progress: SyncProgress; limit: number; budget: number },
  conversationGroups: ConversationGroupItem[],
): Promise<Answered> => {
  const { conversations, more } = await listedPage(db, userID, from);
  const sent = from.progress.sent + conversations.length;
  const last = conversations.at(-1);
  const paged = more || from.after !== undefined;
  const progress = { ...from.progress, sent };
  return {
    answer: {
      version: from.progress.version,
      full: true,
      conversations,
      deletedConversationIDs: [],
      conversationGroups,
      nextCursor: more && last ? encodeSyncCursor(listPosition(last), progress) : null,
    },
    progress: paged
      ? more
        ? Math.min(99, Math.floor((100 * sent) / Math.max(1, progress.total)))
        : 100
      : undefined,
  };
};

/**
 * The owner's changes since `sinceVersion`, or everything (`full`) when there is no version, when
 * it is ahead of the owner's, or when the changes would not fit in one NATS message; a full answer
 * past `limit` conversations (or the message's size) is a first page, continued with `cursor`.
 * Version and answer come from one snapshot, so callbacks with a higher version are exactly what
 * the answer does not yet hold.
 */
const answer = async (
  context: EngineContext,
  { userID, sinceVersion, limit }: RequestOf<'syncConversations'>,
  continued: ReturnType<typeof decodeSyncCursor>,
): Promise<Answered> =>
  context.database.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      const conversationGroups = await readModel.conversationGroupsOf(tx, userID);
      const budget = context.maxPayload() - ENVELOPE_BYTES - bytesOf(conversationGroups);
      const most = limit ?? Number.MAX_SAFE_INTEGER;
      if (continued) {
        const from = {
          after: continued.position,
          progress: continued.progress,
          limit: most,
          budget,
        };
        return fullSyncPage(tx, userID, from, conversationGroups);
      }
      const version = await readModel.ownerVersion(tx, userID);
      if (sinceVersion !== undefined && sinceVersion <= version) {
        const changed = await readModel.changedSince(tx, userID, sinceVersion);
        if (changed.reduce((sum, item) => sum + bytesOf(item), 0) <= budget) {
          const deletedConversationIDs = changed
            .filter((item) => item.isHidden)
            .map((item) => item.conversationID);
          const conversations = changed.filter((item) => !item.isHidden);
          return {
            answer: {
              version,
              full: false,
              conversations,
              deletedConversationIDs,
              conversationGroups,
              nextCursor: null,
            },
            progress: undefined,
          };
        }
      }
      const total = await readModel.listedCount(tx, userID);
      const progress = { version, sent: 0, total };
      return fullSyncPage(
        tx,
        userID,
        { after: undefined, progress, limit: most, budget },
        conversationGroups,
      );
    });

/**
 * syncConversations, bracketed on the owner's subject by OnSyncServerStart and then
 * OnSyncServerFinish or OnSyncServerFailed; their Nats-Msg-Id is unique to this request. Start
 * goes out before any read, so every failure after it is answered by Failed: Start tells what was
 * asked (`full` without a version) and carries the version the sync starts from; Finish tells
 * what was answered.
 */
export const createSyncHandler =
  (js: JetStreamClient, callbackPrefix: string): SyncHandler =>
  async (context, request) => {
    const { userID, sinceVersion, cursor } = request;
    if (cursor !== undefined && sinceVersion !== undefined)
      return fail(400, 'cursor: continues a full sync; send it without sinceVersion');
    const continued = cursor === undefined ? undefined : decodeSyncCursor(cursor);
    if (cursor !== undefined && !continued)
      return fail(400, 'cursor: not a cursor syncConversations returned');
    const syncID = randomUUID();
    const cause = context.request?.cause;
    const publish = (name: CallbackName, version: number, data: unknown) =>
      publishCallbacks(js, callbackPrefix, [
        {
          userID,
          version,
          name,
          data,
          msgID: `${userID}.sync.${syncID}.${name}`,
          ...(cause ? { cause } : {}),
        },
      ]);
    const from = sinceVersion ?? 0;
    const full = sinceVersion === undefined;
    // A paged sync's first page starts it; the pages after it only report progress.
    if (cursor === undefined) await publish('OnSyncServerStart', from, { full });
    try {
      const { answer: result, progress } = await answer(context, request, continued);
      if (progress !== undefined)
        await publish('OnSyncServerProgress', result.version, { progress });
      if (result.nextCursor === null)
        await publish('OnSyncServerFinish', result.version, {
          full: result.full,
          version: result.version,
        });
      return ok(result);
    } catch (error) {
      // The cause goes to the engine log (the service logs it); the gateway gets what to do.
      await publish('OnSyncServerFailed', from, {
        full,
        error: 'internal: the sync failed on the server; retry it',
      }).catch((failure) =>
        context.logger.warn('OnSyncServerFailed not published', { error: failure }),
      );
      throw error;
    }
  };
