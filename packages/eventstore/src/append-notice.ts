import { sql } from 'kysely';
import type { Queryable } from './schema.ts';

export const EVENTS_CHANNEL = 'im_events_appended';

/**
 * Tells listeners in other processes that events were appended, after the appends committed.
 * Not in the append's own transaction: a NOTIFY holds the notify queue's lock until its
 * transaction has flushed its commit, so every appending transaction would commit one after
 * another and none could share a WAL flush. At most one NOTIFY is in flight; appends meanwhile
 * are announced by the next one.
 */
export const createAppendNotice = (db: Queryable) => {
  let sending = false;
  let pending = false;
  const send = async () => {
    sending = true;
    while (pending) {
      pending = false;
      // Listeners poll as well: a notice lost with its connection only delays them.
      await sql`SELECT pg_notify(${EVENTS_CHANNEL}, '')`.execute(db).catch(() => {});
    }
    sending = false;
  };
  return () => {
    pending = true;
    if (!sending) void send();
  };
};
