import type { Logger } from '@im/domain';
import { sql } from 'kysely';
import type { EngineContext } from './context.ts';
import { startOwnerSchedule } from './owner-schedule.ts';

const EVERY_MS = 250;
const AT_ONCE = 500;

/**
 * Ends timed do-not-disturbs when they are due (SPEC §8.2 rule 21). The schedule is the read
 * model itself, each conversation's `recvMsgOptUntil` on an index: durable, rebuilt with the rest,
 * looked at every quarter second, and at once on start for the overdue ones. An end is decided on
 * the conversation as it is: the same timer, still set, and due.
 */
export const startTimedRecvMsgOpt = (
  context: EngineContext,
  options: { held: () => readonly number[]; logger: Logger },
) =>
  startOwnerSchedule(context, {
    ...options,
    everyMs: EVERY_MS,
    what: 'ending timed do-not-disturbs',
    cause: { method: 'recvMsgOptUntil' },
    async due(partitions, now) {
      const { rows } = await sql<{ owner: string; conversation_id: string; until: string }>`
        SELECT owner, conversation_id, recv_msg_opt_until::text AS until FROM conversation_item
        WHERE recv_msg_opt_until > 0 AND recv_msg_opt_until <= ${now}
          AND partition = ANY(${[...partitions]}::smallint[])
        ORDER BY recv_msg_opt_until LIMIT ${AT_ONCE}`.execute(context.database.db);
      return rows.map((row) => ({
        type: 'EndTimedRecvMsgOpt',
        owner: row.owner,
        conversationID: row.conversation_id,
        until: Number(row.until),
      }));
    },
  });
