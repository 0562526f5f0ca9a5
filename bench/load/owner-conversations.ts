import { singleConversationID } from '@im/domain';
import { singleMessage } from '../api-client.ts';
import { runConcurrently } from '../concurrently.ts';
import type { BenchContext } from '../context.ts';

/** One owner's side of a single chat. */
export interface OwnedConversation {
  owner: string;
  conversationID: string;
}

/**
 * Gives `owner` `count` single chats through the API, one `recordMessage` from a new peer each,
 * many in flight: the way the message service would, only faster than any one user's traffic.
 * Returns the peers' side of those chats: owners with one conversation each.
 */
export const loadOwnerConversations = async (
  context: BenchContext,
  owner: string,
  count: number,
): Promise<OwnedConversation[]> => {
  const { loadInFlight } = context.plan;
  const peer = (i: number) => `${owner}_peer${i}`;
  const run = await runConcurrently(count, loadInFlight, async (i) => {
    const reply = await context.api.call('recordMessage', singleMessage(peer(i), peer(i), owner));
    return reply.ok;
  });
  if (run.failed > 0) throw new Error(`loading ${owner}: ${run.failed} recordMessage failed`);
  context.note(
    `${owner}: ${count} conversations loaded through recordMessage in ${run.seconds.toFixed(1)} s ` +
      `(${Math.round(run.perSecond)}/s, ${loadInFlight} in flight)`,
  );
  return Array.from({ length: count }, (_, i) => ({
    owner: peer(i),
    conversationID: singleConversationID(owner, peer(i)),
  }));
};
