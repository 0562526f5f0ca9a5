import { singleConversationID } from '@im/domain';
import { runClosedLoop } from '../closed-loop.ts';
import type { BenchContext } from '../context.ts';
import type { Figures } from '../figures.ts';
import type { SingleChats } from './messages.ts';

/**
 * Owner commands over NATS, 32 in flight, each one a real change (a command that changes nothing
 * appends nothing): worker i marks read, then pins, each of owner i's unread conversations; past
 * them it toggles their pins. One worker per owner, as one user's gateway sends one at a time.
 */
export const measureCommands = async (
  context: BenchContext,
  chats: SingleChats,
): Promise<Figures> => {
  const result = await runClosedLoop({
    inFlight: chats.owners.length,
    warmupMs: context.plan.warmupMs,
    windowMs: context.plan.windowMs,
    operation: async (worker, sequence) => {
      const owner = chats.owners[worker] as string;
      const peers = chats.peersOf[worker] as string[];
      if (peers.length === 0) throw new Error(`${owner} has no conversations`);
      const firstPass = sequence < 2 * peers.length;
      const turn = firstPass ? Math.floor(sequence / 2) : sequence - 2 * peers.length;
      const conversationID = singleConversationID(owner, peers[turn % peers.length] as string);
      const reply =
        firstPass && sequence % 2 === 0
          ? await context.api.call('markConversationMessageAsRead', {
              userID: owner,
              conversationID,
            })
          : await context.api.call('pinConversation', {
              userID: owner,
              conversationID,
              // first pass pins; then each round over the conversations flips them all
              isPinned: firstPass || Math.floor(turn / peers.length) % 2 === 1,
            });
      return reply.ok;
    },
  });
  if (result.failed > 0) context.note(`owner commands: ${result.failed} failed in the window`);
  return { commands_per_s: result.perSecond };
};
