import type { ConversationState } from '@im/domain';
import { fromRow } from '../read-model/columns.ts';
import { conversationGroupsAt } from '../read-model/conversation-groups.ts';
import { statesAt } from '../read-model/owner-views.ts';
import type { Db } from '../read-model/schema.ts';
import { ownerTotals } from '../read-model/totals.ts';
import type { Callback } from './callback.ts';
import { callbacksOf, ownersWithTotals, type ViewOf, viewKey } from './change-callbacks.ts';
import { isConversationGroupChange } from './conversation-group-callbacks.ts';
import { fanoutChanges } from './fanout-changes.ts';
import type { ConversationChange, OutboxEntry } from './outbox.ts';

/**
 * Group members expanded into one page at most, over all its group messages: a page's callbacks
 * (two a member) are in memory together, so a large group's are never all at once.
 */
export const PAGE_MEMBERS = 2000;

/** A page of a batch's callbacks, and how many of them JetStream took. */
export interface CallbackPage {
  callbacks: readonly Callback[];
  from: number;
}

/** A batch's callbacks a page at a time, in order, and where publishing stands in them. */
export interface CallbackPages {
  /** The page being published; undefined once JetStream took every callback. */
  current(): Promise<CallbackPage | undefined>;
  /** JetStream took `count` more of the current page's callbacks. */
  took(count: number): void;
  /** Callbacks JetStream took so far. */
  published(): number;
}

/** Where the next page starts: an entry, and within a group message the member after which. */
interface Cursor {
  entry: number;
  afterOwner: string;
}

/**
 * The entries' changes from the cursor on, with `pageMembers` group members in all at most, and
 * where the next page starts.
 */
const pageChanges = async (
  db: Db,
  entries: readonly OutboxEntry[],
  at: Cursor,
  pageMembers: number,
) => {
  const fanouts = entries
    .slice(at.entry)
    .flatMap((entry, i) =>
      entry.type === 'fanout'
        ? [{ fanout: entry.fanout, afterOwner: i === 0 ? at.afterOwner : '' }]
        : [],
    );
  const expanded = await fanoutChanges(db, fanouts, pageMembers);
  // The last group message with members in the page is where a full page ends.
  const last = expanded.more ? expanded.members.findLastIndex((m) => m.length > 0) : -1;
  const changes: ConversationChange[] = [];
  const views = new Map<string, ConversationState>();
  let fanout = 0;
  for (let index = at.entry; index < entries.length; index++) {
    const entry = entries[index] as OutboxEntry;
    if (entry.type === 'change') {
      changes.push(entry.change);
      continue;
    }
    const members = expanded.members[fanout] ?? [];
    for (const member of members) {
      changes.push(...member.changes);
      views.set(viewKey(member.owner, entry.fanout.conversationID), member.view);
    }
    if (fanout === last)
      return { changes, views, next: { entry: index, afterOwner: members.at(-1)?.owner ?? '' } };
    fanout += 1;
  }
  return { changes, views, next: { entry: entries.length, afterOwner: '' } };
};

/**
 * The callbacks of a batch's outbox entries, in their order, worked out a page at a time: changes
 * by name shown as `viewOf` gives them, group messages expanded to their members from the read
 * model, every total as it is now. The next page is read while the current one is published.
 */
export const createCallbackPages = (
  db: Db,
  entries: readonly OutboxEntry[],
  viewOf: ViewOf,
  pageMembers = PAGE_MEMBERS,
): CallbackPages => {
  let cursor: Cursor = { entry: 0, afterOwner: '' };
  let page: CallbackPage | undefined;
  let reading: Promise<Callback[] | undefined> | undefined;
  let published = 0;

  // The cursor moves only once a page is read whole: a failed read is read again.
  const readPage = async (): Promise<Callback[] | undefined> => {
    if (cursor.entry >= entries.length) return undefined;
    const { changes, views, next } = await pageChanges(db, entries, cursor, pageMembers);
    const totals = await ownerTotals(db, ownersWithTotals(changes));
    const groups = await conversationGroupsAt(
      db,
      changes
        .filter(isConversationGroupChange)
        .map((change) => ({ owner: change.owner, conversationGroupID: change.conversationID })),
    );
    const view: ViewOf = (owner, conversationID) =>
      views.get(viewKey(owner, conversationID)) ?? viewOf(owner, conversationID);
    const callbacks = callbacksOf(changes, view, totals, groups);
    cursor = next;
    return callbacks;
  };
  const readAhead = () => {
    if (reading || cursor.entry >= entries.length) return;
    reading = readPage();
    reading.catch(() => {});
  };
  readAhead();

  return {
    async current() {
      while (!page || page.from >= page.callbacks.length) {
        page = undefined;
        const pending = reading ?? readPage();
        reading = undefined;
        const callbacks = await pending;
        if (callbacks === undefined) return undefined;
        if (callbacks.length > 0) page = { callbacks, from: 0 };
      }
      readAhead();
      return page;
    },
    took(count) {
      if (!page) return;
      page.from += count;
      published += count;
    },
    published: () => published,
  };
};

/** A batch's outbox entries, waiting for their callbacks. */
export interface OutboxBatch {
  /** The checkpoint the batch was read after. */
  after: number;
  /** The last outbox row it covers. */
  lastID: number;
  entries: OutboxEntry[];
  /** The views of its changes by name, where the projector had them in memory. */
  viewOf?: ViewOf;
}

/** A batch with its callbacks, worked out a page at a time as they are published. */
export interface ReadBatch {
  after: number;
  lastID: number;
  /** The row limit it was read with; 0 for a batch handed over. */
  limit: number;
  /** Its callbacks, and how far JetStream took them: a failed batch resumes where it stopped. */
  pages: CallbackPages;
}

/** The batch's callbacks: changes by name from memory where it has them, else read back. */
export const resolveBatch = async (
  db: Db,
  batch: OutboxBatch,
  limit = 0,
  pageMembers = PAGE_MEMBERS,
): Promise<ReadBatch> => {
  let viewOf = batch.viewOf;
  if (!viewOf) {
    const named = batch.entries.flatMap((entry) => (entry.type === 'change' ? [entry.change] : []));
    const views = await statesAt(
      named.map((change) => change.owner),
      named.map((change) => change.conversationID),
    ).execute(db);
    const byKey = new Map(
      views.rows.map(fromRow).map((view) => [viewKey(view.owner, view.conversationID), view]),
    );
    viewOf = (owner, conversationID) => byKey.get(viewKey(owner, conversationID));
  }
  return {
    after: batch.after,
    lastID: batch.lastID,
    limit,
    pages: createCallbackPages(db, batch.entries, viewOf, pageMembers),
  };
};
