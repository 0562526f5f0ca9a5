import type { Outcome } from '@im/client';
import type { BenchContext } from '../context.ts';
import type { Figures } from '../figures.ts';
import { loadOwnerConversations, type OwnedConversation } from '../load/owner-conversations.ts';
import { createSamples, type Samples } from '../percentiles.ts';
import { waitUntilPublished } from '../quiet.ts';

const timed = async <Reply>(samples: Samples | undefined, request: () => Promise<Reply>) => {
  const began = performance.now();
  const reply = await request();
  samples?.record(performance.now() - began);
  return reply;
};

const expectLength = (
  reply: Outcome<'getAllConversationList' | 'getConversationListPage'>,
  length: number,
  what: string,
) => {
  if (!reply.ok || reply.reply.conversations.length !== length)
    throw new Error(
      `${what}: expected ${length} conversations, got ${reply.ok ? 'another count' : reply.error.errCode}`,
    );
};

/** `getAllConversationList`, one request at a time, for an owner with 1,000 conversations. */
export const measureFullList = async (context: BenchContext): Promise<Figures> => {
  const owner = 'list1k';
  await loadOwnerConversations(context, owner, 1000);
  await waitUntilPublished(context.database.url);
  const samples = createSamples();
  const { latencyWarmup, latencySamples } = context.plan;
  for (let i = 0; i < latencyWarmup + latencySamples; i++) {
    const reply = await timed(i < latencyWarmup ? undefined : samples, () =>
      context.api.call('getAllConversationList', { userID: owner }),
    );
    expectLength(reply, 1000, 'getAllConversationList');
  }
  context.note(`list: p50 ${samples.percentile(50).toFixed(1)} ms for 1,000 conversations`);
  return { list_p99_ms_1k: samples.percentile(99) };
};

/**
 * The first page of 50 for an owner with 100,000 conversations, beside the same page for an owner
 * with 100: requests alternate between the two, so both see the same machine at the same time.
 * Returns the big owner's peers too, 100,000 owners with a conversation each.
 */
export const measureFirstPage = async (
  context: BenchContext,
): Promise<{ figures: Figures; peers: OwnedConversation[] }> => {
  const big = { owner: 'page_big', conversations: context.plan.bigOwnerConversations };
  const small = { owner: 'page_small', conversations: 100 };
  await loadOwnerConversations(context, small.owner, small.conversations);
  const peers = await loadOwnerConversations(context, big.owner, big.conversations);
  context.progress('waiting for the load callbacks to be published');
  await waitUntilPublished(context.database.url);
  const samples = new Map([
    [big.owner, createSamples()],
    [small.owner, createSamples()],
  ]);
  const { latencyWarmup, latencySamples } = context.plan;
  for (let i = 0; i < latencyWarmup + latencySamples; i++) {
    for (const owner of [big.owner, small.owner]) {
      const reply = await timed(i < latencyWarmup ? undefined : samples.get(owner), () =>
        context.api.call('getConversationListPage', { userID: owner, limit: 50 }),
      );
      expectLength(reply, 50, 'getConversationListPage');
    }
  }
  const bigP99 = samples.get(big.owner)?.percentile(99) as number;
  const smallP99 = samples.get(small.owner)?.percentile(99) as number;
  if (big.conversations !== 100_000)
    context.note(`page figures: the big owner has ${big.conversations} conversations, not 100,000`);
  context.note(
    `page: p50 ${samples.get(big.owner)?.percentile(50).toFixed(1)} ms (big owner), ` +
      `${samples.get(small.owner)?.percentile(50).toFixed(1)} ms (100 conversations); ` +
      `p99 ${smallP99.toFixed(1)} ms for 100 conversations`,
  );
  return {
    figures: { page_p99_ms_100k: bigP99, page_p99_ratio_100k_vs_100: bigP99 / smallP99 },
    peers,
  };
};
