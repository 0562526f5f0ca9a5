import { randomUUID } from 'node:crypto';
import { ok, type RequestOf, type Result } from '@im/domain';
import { type CallbackName, publishCallbacks, readModel } from '@im/projector';
import type { JetStreamClient } from 'nats';
import type { EngineContext } from './context.ts';

export type SyncHandler = (
  context: EngineContext,
  request: RequestOf<'syncConversations'>,
) => Promise<Result<unknown>>;

/**
 * syncConversations: what changed for the owner since a version, or everything (`full`) when
 * there is no version or it is ahead of the owner's. Bracketed by OnSyncServerStart and
 * OnSyncServerFinish / OnSyncServerFailed, whose Nats-Msg-Id is unique to this request.
 */
export const createSyncHandler =
  (js: JetStreamClient, callbackPrefix: string): SyncHandler =>
  async (context, { userID, sinceVersion }) => {
    const { db } = context.database;
    const syncID = randomUUID();
    const version = await readModel.ownerVersion(db, userID);
    const full = sinceVersion === undefined || sinceVersion > version;
    const publish = (name: CallbackName, data: unknown) =>
      publishCallbacks(js, callbackPrefix, [
        { userID, version, name, data, msgID: `${userID}.sync.${syncID}.${name}` },
      ]);
    await publish('OnSyncServerStart', { full });
    try {
      const changed = full
        ? await readModel.listConversations(db, userID, {})
        : await readModel.changedSince(db, userID, sinceVersion);
      const conversations = changed.filter((item) => !item.isHidden);
      const deletedConversationIDs = changed
        .filter((item) => item.isHidden)
        .map((item) => item.conversationID);
      await publish('OnSyncServerFinish', { full, version });
      return ok({ version, full, conversations, deletedConversationIDs });
    } catch (error) {
      await publish('OnSyncServerFailed', { full, error: String(error) }).catch(() => {});
      throw error;
    }
  };
