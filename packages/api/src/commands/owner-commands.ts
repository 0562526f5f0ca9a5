import {
  type ConversationItem,
  type ConversationState,
  fail,
  type OwnerConversationEvent,
  ok,
  type Result,
  streams,
  toItem,
  unknownConversation,
} from '@im/domain';
import { readModel } from '@im/projector';
import { awaitProjection, type EngineContext } from '../context.ts';
import { knownVersions } from './known-versions.ts';
import { oneAtATime } from './one-at-a-time.ts';

const ATTEMPTS = 8;

/**
 * Runs one decision on an owner's stream: waits until the read model holds every event of the
 * stream, decides against it, appends with the version it decided on. Commands of one owner take
 * turns within this process; an append from another process in between makes it decide again,
 * and only a conflict that outlasts every attempt reaches the caller as a 409.
 */
export const runOnOwnerStream = (
  context: EngineContext,
  owner: string,
  decide: () => Promise<Result<OwnerConversationEvent[]>>,
): Promise<Result<void>> =>
  oneAtATime(context, streams.owner(owner), () => decideAndAppend(context, owner, decide));

const decideAndAppend = async (
  context: EngineContext,
  owner: string,
  decide: () => Promise<Result<OwnerConversationEvent[]>>,
): Promise<Result<void>> => {
  const stream = streams.owner(owner);
  const versions = knownVersions(context);
  let known = versions.get(stream) ?? (await context.versions.load({ streamId: stream }));
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    await awaitProjection(context, known.lastPosition);
    const decided = await decide();
    if (!decided.ok) return decided;
    if (decided.value.length === 0) return ok(undefined);
    const outcome = await context.appends.append(stream, decided.value, {
      expectedVersion: known.version,
    });
    if (outcome.ok) {
      versions.remember(stream, {
        version: outcome.value.nextVersion,
        lastPosition: outcome.value.lastPosition,
      });
      await awaitProjection(context, outcome.value.lastPosition);
      return ok(undefined);
    }
    versions.forget(stream);
    known = await context.versions.load({ streamId: stream });
  }
  return fail(
    409,
    `userID: the conversations of ${owner} kept changing concurrently; retry the request`,
  );
};

export const loadState = (context: EngineContext, owner: string, conversationID: string) =>
  context.states.load({ owner, conversationID });

/** The owner's conversation as it is now, or 404. */
export const currentItem = async (
  context: EngineContext,
  owner: string,
  conversationID: string,
): Promise<Result<ConversationItem>> => {
  const state = await loadState(context, owner, conversationID);
  return state ? ok(toItem(state)) : unknownConversation(owner, conversationID);
};

/** Loads several of the owner's conversations; any unknown one fails the whole request. */
export const loadStates = async (
  context: EngineContext,
  owner: string,
  conversationIDs: readonly string[],
): Promise<Result<ConversationState[]>> => {
  const states = await readModel.getConversationStates(context.database.db, owner, conversationIDs);
  const known = new Set(states.map((state) => state.conversationID));
  const missing = conversationIDs.find((id) => !known.has(id));
  return missing === undefined ? ok(states) : unknownConversation(owner, missing);
};
