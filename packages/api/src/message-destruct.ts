import type { Logger } from '@im/domain';
import { sql } from 'kysely';
import type { EngineContext } from './context.ts';
import { startOwnerSchedule } from './owner-schedule.ts';

/**
 * Clears self-destructing messages (SPEC §8.2 rule 22): for each conversation of the partitions
 * this process projects that has it on, the newest message sent longer ago than its window is
 * found in the log, and the owner's minSeq moves past it with a command of the engine's own.
 */
export const startMessageDestruct = (
  context: EngineContext,
  options: { held: () => readonly number[]; logger: Logger; everyMs: number },
) =>
  startOwnerSchedule(context, {
    ...options,
    what: 'clearing self-destructing messages',
    cause: { method: 'msgDestructTime' },
    async due(partitions, now) {
      const { rows } = await sql<{ owner: string; conversation_id: string; last_old: string }>`
        SELECT m.owner, m.conversation_id, old.seq::text AS last_old
        FROM conversation_item m
        CROSS JOIN LATERAL (
          SELECT max(e.stream_position) AS seq FROM events e
          WHERE e.stream_id = 'messages:' || m.conversation_id AND e.stream_position >= m.min_seq
            AND (e.data->'message'->>'sendTime')::bigint < ${now} - m.msg_destruct_time * 1000::bigint
        ) old
        WHERE m.is_msg_destruct AND m.partition = ANY(${[...partitions]}::smallint[])
          AND old.seq IS NOT NULL`.execute(context.database.db);
      return rows.map((row) => ({
        type: 'DestructMessages',
        owner: row.owner,
        conversationID: row.conversation_id,
        minSeq: Number(row.last_old) + 1,
        at: now,
      }));
    },
  });
