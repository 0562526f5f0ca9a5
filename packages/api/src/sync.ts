import { randomUUID } from 'node:crypto';
import {
  type ConversationGroupItem,
  type ConversationItem,
  encodeCursor,
  type ListPosition,
  listPosition,
  ok,
  type RequestOf,
  type Result,
} from '@im/domain';
import { type CallbackName, publishCallbacks, readModel } from '@im/projector';
import type { JetStreamClient } from 'nats';
import type { EngineContext } from './context.ts';
import { currentRequest } from './request-context.ts';

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
   * Set when a full answer did not fit in one NATS message: continue with
   * getConversationListPage from this cursor, then sync incrementally from `version`.
   */
  nextCursor: string | null;
}

/** Room in the reply for everything but the conversations: version, flags, cursor. */
const ENVELOPE_BYTES = 1024;
const PAGE = 500;

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value)) + 1;

/**
 * Every listed conversation in list order, as many as fit in `budget` bytes; the cursor says
 * where the rest begins.
 */
const fullAnswer = async (
  db: EngineContext['database']['db'],
  userID: string,
  budget: number,
): Promise<Pick<SyncAnswer, 'conversations' | 'nextCursor'>> => {
  const conversations: ConversationItem[] = [];
  let used = 0;
  let after: ListPosition | undefined;
  for (;;) {
    const page = await readModel.listConversations(db, userID, { after, limit: PAGE });
    for (const item of page) {
      used += bytesOf(item);
      if (used > budget) {
        const last = conversations.at(-1);
        return { conversations, nextCursor: last ? encodeCursor(listPosition(last)) : null };
      }
      conversations.push(item);
    }
    const last = page.at(-1);
    if (page.length < PAGE || !last) return { conversations, nextCursor: null };
    after = listPosition(last);
  }
};

/**
 * The owner's changes since `sinceVersion`, or everything (`full`) when there is no version, when
 * it is ahead of the owner's, or when the changes would not fit in one NATS message. Version and
 * answer come from one snapshot, so callbacks with a higher version are exactly what the answer
 * does not yet hold.
 */
const answer = async (
  context: EngineContext,
  { userID, sinceVersion }: RequestOf<'syncConversations'>,
): Promise<SyncAnswer> =>
  context.database.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      const version = await readModel.ownerVersion(tx, userID);
      const conversationGroups = await readModel.conversationGroupsOf(tx, userID);
      const budget = context.maxPayload() - ENVELOPE_BYTES - bytesOf(conversationGroups);
      if (sinceVersion !== undefined && sinceVersion <= version) {
        const changed = await readModel.changedSince(tx, userID, sinceVersion);
        if (changed.reduce((sum, item) => sum + bytesOf(item), 0) <= budget) {
          return {
            version,
            full: false,
            conversations: changed.filter((item) => !item.isHidden),
            deletedConversationIDs: changed
              .filter((item) => item.isHidden)
              .map((item) => item.conversationID),
            conversationGroups,
            nextCursor: null,
          };
        }
      }
      return {
        version,
        full: true,
        deletedConversationIDs: [],
        conversationGroups,
        ...(await fullAnswer(tx, userID, budget)),
      };
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
    const { userID, sinceVersion } = request;
    const syncID = randomUUID();
    const cause = currentRequest()?.cause;
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
    await publish('OnSyncServerStart', from, { full });
    try {
      const result = await answer(context, request);
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
