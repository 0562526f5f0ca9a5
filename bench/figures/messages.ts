import { singleMessage } from '../api-client.ts';
import { runClosedLoop } from '../closed-loop.ts';
import type { BenchContext } from '../context.ts';
import type { Figures } from '../figures.ts';

/** The single chats the messages figure made: owner i talks with each of peersOf[i]. */
export interface SingleChats {
  owners: string[];
  peersOf: string[][];
}

/**
 * `recordMessage` into single chats, 32 in flight: worker i sends from a new peer to owner i each
 * time, so every message opens a conversation for two owners, as a first message does.
 */
export const measureMessages = async (
  context: BenchContext,
): Promise<{ figures: Figures; chats: SingleChats }> => {
  const { inFlight } = context.plan;
  const owners = Array.from({ length: inFlight }, (_, i) => `owner${i}`);
  const peersOf: string[][] = owners.map(() => []);
  const result = await runClosedLoop({
    inFlight,
    warmupMs: context.plan.warmupMs,
    windowMs: context.plan.windowMs,
    operation: async (worker, sequence) => {
      const peer = `peer${worker}_${sequence}`;
      const reply = await context.api.call(
        'recordMessage',
        singleMessage(`m${worker}_${sequence}`, peer, owners[worker] as string),
      );
      if (!reply.ok) return false;
      peersOf[worker]?.push(peer);
      return true;
    },
  });
  if (result.failed > 0) context.note(`recordMessage: ${result.failed} failed in the window`);
  return { figures: { messages_per_s: result.perSecond }, chats: { owners, peersOf } };
};
