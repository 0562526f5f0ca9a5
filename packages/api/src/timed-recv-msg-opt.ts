import type { Logger } from '@im/domain';
import { sql } from 'kysely';
import { runOwnerCommand } from './commands/owner-commands.ts';
import type { EngineContext } from './context.ts';
import { startPeriodic } from './periodic.ts';
import { withRequestContext } from './request-context.ts';

const EVERY_MS = 250;
const AT_ONCE = 500;

/**
 * Ends timed do-not-disturbs when they are due (SPEC §8.2 rule 21). The schedule is the read
 * model itself, each conversation's `recvMsgOptUntil` on an index: durable, rebuilt with the rest,
 * and looked at every quarter second, and at once on start for the overdue ones. Each process
 * ends the timers of the partitions it projects; an end is an owner command decided on the
 * conversation as it is (the same timer, still set, due), appended at the owner stream's version,
 * so two processes during a handover, or a retry after a crash, end it once.
 */
export const startTimedRecvMsgOpt = (
  context: EngineContext,
  options: { held: () => readonly number[]; logger: Logger },
) =>
  startPeriodic(
    async (running) => {
      const partitions = options.held();
      if (partitions.length === 0) return;
      const now = context.now();
      const due = await sql<{ owner: string; conversation_id: string; until: string }>`
        SELECT owner, conversation_id, recv_msg_opt_until::text AS until FROM conversation_item
        WHERE recv_msg_opt_until > 0 AND recv_msg_opt_until <= ${now}
          AND partition = ANY(${[...partitions]}::smallint[])
        ORDER BY recv_msg_opt_until LIMIT ${AT_ONCE}`.execute(context.database.db);
      for (const row of due.rows) {
        if (!running()) return;
        await withRequestContext({ cause: { method: 'recvMsgOptUntil' } }, () =>
          runOwnerCommand(context, {
            type: 'EndTimedRecvMsgOpt',
            owner: row.owner,
            conversationID: row.conversation_id,
            until: Number(row.until),
          }),
        );
      }
    },
    { everyMs: EVERY_MS, logger: options.logger, what: 'ending timed do-not-disturbs' },
  );
