const tick = () => new Promise((done) => setTimeout(done, 1));

/**
 * Calls `send(0..)` at a fixed rate for `durationMs`, whatever the answers do (an open loop), so a
 * slow engine shows as latency instead of lowering the rate. `giveUp` ends it early, to bound the
 * backlog of an engine that cannot keep the rate.
 */
export const runPaced = async (options: {
  perSecond: number;
  durationMs: number;
  send: (index: number) => void;
  giveUp: () => boolean;
}): Promise<{ sent: number; gaveUp: boolean }> => {
  const total = Math.round((options.perSecond * options.durationMs) / 1000);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    if (options.giveUp()) return { sent, gaveUp: true };
    const due = Math.min(
      total,
      Math.floor(((performance.now() - started) * options.perSecond) / 1000) + 1,
    );
    while (sent < due) options.send(sent++);
    await tick();
  }
  return { sent, gaveUp: false };
};
