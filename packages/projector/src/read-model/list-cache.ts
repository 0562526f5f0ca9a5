import { sql } from 'kysely';
import { ownerVersionOf } from './owner-views.ts';
import { listConversationsJSON } from './queries.ts';
import type { Db } from './schema.ts';

interface Entry {
  stamp: string;
  /** The list's JSON, encoded once: encoding a large text again costs more than looking it up. */
  json: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * What identifies an owner's list as it is: the owner's version (every change to a conversation,
 * a group message's included, gives it the newest version), the read-model tables themselves
 * (a rebuild switches in new ones, whose rows may differ at equal versions), and the version of the
 * layout row, which a rebuild of one partition writes when it replaces rows in place.
 */
const listStamp = async (db: Db, owner: string): Promise<string> => {
  const result = await sql<{ stamp: string }>`
    SELECT 'conversation_item'::regclass::oid || ':' || 'group_state'::regclass::oid || ':' ||
           coalesce((SELECT xmin::text FROM projection_layout), '') || ':' ||
           ${ownerVersionOf(sql`${owner}`)} AS stamp`.execute(db);
  return result.rows[0]?.stamp ?? '';
};

/**
 * The whole-list JSON of recently asked owners, answered again while their stamp is unchanged:
 * clients ask for the whole list at every login and reconnect, and building a large one costs
 * PostgreSQL tens of milliseconds where checking the stamp costs a fraction of one. The least
 * recently used lists go first when the cache holds more than `maxBytes` of text.
 */
export const createListCache = (options: { maxBytes: number }) => {
  const entries = new Map<string, Entry>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  const drop = (owner: string) => {
    const entry = entries.get(owner);
    if (!entry) return;
    entries.delete(owner);
    bytes -= entry.json.byteLength;
  };
  return {
    /** The owner's whole list as encoded JSON. */
    async wholeList(db: Db, owner: string): Promise<Uint8Array> {
      const stamp = await listStamp(db, owner);
      const cached = entries.get(owner);
      drop(owner);
      // A list read after the stamp can only be newer than it; the next stamp then differs.
      const hit = cached?.stamp === stamp;
      if (hit) hits += 1;
      else misses += 1;
      const json =
        hit && cached ? cached.json : encoder.encode(await listConversationsJSON(db, owner, {}));
      if (json.byteLength <= options.maxBytes) {
        entries.set(owner, { stamp, json });
        bytes += json.byteLength;
        for (const oldest of entries.keys()) {
          if (bytes <= options.maxBytes) break;
          drop(oldest);
        }
      }
      return json;
    },
    get bytes() {
      return bytes;
    },
    /** Whole lists answered from the cache, and read from the database, since the start. */
    stats: () => ({ hits, misses, bytes }),
  };
};

export type ListCache = ReturnType<typeof createListCache>;
