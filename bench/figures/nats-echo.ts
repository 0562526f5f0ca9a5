import { connect } from 'nats';
import type { BenchContext } from '../context.ts';
import type { Figures } from '../figures.ts';
import { createSamples } from '../percentiles.ts';

/** Baseline: a request-reply round trip through this NATS server to a responder that does nothing. */
export const measureNatsEcho = async (context: BenchContext): Promise<Figures> => {
  const subject = `${context.subjectPrefix}.bench.echo`;
  const responder = await connect({ servers: context.natsUrl, name: 'bench echo' });
  try {
    responder.subscribe(subject, { callback: (_error, msg) => msg.respond(msg.data) });
    await responder.flush();
    const body = new TextEncoder().encode(JSON.stringify({ userID: 'echo' }));
    const samples = createSamples();
    const { latencyWarmup, latencySamples } = context.plan;
    for (let i = 0; i < latencyWarmup + latencySamples; i++) {
      const began = performance.now();
      await context.api.nc.request(subject, body, { timeout: 5000 });
      if (i >= latencyWarmup) samples.record(performance.now() - began);
    }
    return { nats_echo_p99_ms: samples.percentile(99) };
  } finally {
    await responder.close();
  }
};
