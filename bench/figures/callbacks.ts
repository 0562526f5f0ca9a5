import { type BenchContext, callbackSubject } from '../context.ts';
import type { Figures } from '../figures.ts';
import type { OwnedConversation } from '../load/owner-conversations.ts';
import { runPaced } from '../paced.ts';
import { createSamples } from '../percentiles.ts';

interface Pending {
  sentAt: number;
  isPinned: boolean;
  measured: boolean;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Commands left unanswered past this many seconds of the rate end the run: the goal is lost. */
const BACKLOG_SECONDS = 2;
const DRAIN_MS = 20_000;

/** Records, for each pin awaited, the time from its send to the callback that shows it. */
const watchPins = (
  context: BenchContext,
  pending: Map<string, Pending>,
  samples: ReturnType<typeof createSamples>,
) =>
  context.api.nc.subscribe(callbackSubject(context, '*', 'OnConversationChanged'), {
    callback: (_error, msg) => {
      const body = msg.json<{ userID: string; data: Array<{ isPinned: boolean }> }>();
      const waiting = pending.get(body.userID);
      if (!waiting || body.data[0]?.isPinned !== waiting.isPinned) return;
      pending.delete(body.userID);
      if (waiting.measured) samples.record(performance.now() - waiting.sentAt);
    },
  });

/** Pins or unpins; answers whether the engine said yes. */
const sendPin = (context: BenchContext, target: OwnedConversation, isPinned: boolean) =>
  context.api
    .call('pinConversation', {
      userID: target.owner,
      conversationID: target.conversationID,
      isPinned,
    })
    .then(
      (outcome) => outcome.ok,
      () => false,
    );

/**
 * A gateway's view: `pinConversation` sent at a fixed 1,000 commands/s (an open loop), timed from
 * the send to the `OnConversationChanged` that carries the new pin. Each command goes to an owner
 * with no command in flight, so no two commands race on one owner.
 */
export const measureCallbacks = async (
  context: BenchContext,
  targets: readonly OwnedConversation[],
): Promise<Figures> => {
  const { callbackPerSecond, callbackWarmupMs, callbackWindowMs } = context.plan;
  const pinned = new Map<string, boolean>();
  const pending = new Map<string, Pending>();
  const samples = createSamples();
  let failed = 0;
  let skipped = 0;
  let unanswered = 0;
  const subscription = watchPins(context, pending, samples);
  await context.api.nc.flush();

  const started = performance.now();
  let cursor = 0;
  const { sent, gaveUp } = await runPaced({
    perSecond: callbackPerSecond,
    durationMs: callbackWarmupMs + callbackWindowMs,
    giveUp: () => pending.size > BACKLOG_SECONDS * callbackPerSecond,
    send: () => {
      // the next owner with nothing in flight
      for (let tries = 0; tries < targets.length; tries++) {
        const target = targets[cursor++ % targets.length];
        if (!target || pending.has(target.owner)) continue;
        const isPinned = !pinned.get(target.owner);
        pinned.set(target.owner, isPinned);
        const sentAt = performance.now();
        pending.set(target.owner, {
          sentAt,
          isPinned,
          measured: sentAt - started >= callbackWarmupMs,
        });
        unanswered += 1;
        void sendPin(context, target, isPinned).then((succeeded) => {
          unanswered -= 1;
          if (succeeded) return;
          failed += 1;
          pending.delete(target.owner);
        });
        return;
      }
      skipped += 1;
    },
  });
  const pacedMs = performance.now() - started;
  const deadline = Date.now() + DRAIN_MS;
  while (pending.size > 0 && Date.now() < deadline) await sleep(20);
  subscription.unsubscribe();
  // A callback that never came counts as late as the wait for it: a lower bound, never a pass.
  const lost = [...pending.values()].filter((p) => p.measured);
  for (const never of lost) samples.record(performance.now() - never.sentAt);
  // the next figure starts on an engine that has answered everything (requests time out in 30 s)
  while (unanswered > 0) await sleep(50);
  context.note(
    `callbacks: ${sent} pinConversation at ${callbackPerSecond}/s over ${targets.length} owners` +
      (gaveUp
        ? `, stopped after ${(pacedMs / 1000).toFixed(1)} s with ${BACKLOG_SECONDS} s of commands unanswered`
        : '') +
      `; ${samples.count()} timed after ${callbackWarmupMs / 1000} s warm-up, ` +
      `p50 ${samples.percentile(50).toFixed(1)} ms, max ${samples.max().toFixed(1)} ms` +
      (failed + skipped + lost.length > 0
        ? `; ${failed} failed, ${skipped} not sent, ${lost.length} never called back (counted as their wait)`
        : ''),
  );
  return { callback_p99_ms: samples.percentile(99) };
};
