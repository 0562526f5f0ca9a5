import pg from 'pg';
import { type EngineEnv, spawnCli } from '../cli-process.ts';
import type { BenchContext } from '../context.ts';
import type { Figures } from '../figures.ts';
import { appendRebuildEvents } from '../load/rebuild-events.ts';

const eventsInLog = async (databaseUrl: string): Promise<number> => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
};

/** Seconds a CLI run takes, and its last lines should it fail. */
const runCli = async (args: string[], env: EngineEnv, extraEnv: Record<string, string> = {}) => {
  const began = performance.now();
  const cli = spawnCli(args, env, extraEnv);
  const { code, signal } = await cli.exited;
  const seconds = (performance.now() - began) / 1000;
  if (code !== 0)
    throw new Error(`cli ${args.join(' ')} exited ${code ?? signal}:\n${cli.tail.join('\n')}`);
  // the CLI's own summary, when it prints one
  const summary = cli.tail.findLast((line) => line.startsWith('rebuilt')) ?? cli.tail.at(-1) ?? '';
  return { seconds, summary };
};

/**
 * `cli.ts rebuild` over a log of `plan.rebuildEvents` events: what the earlier figures appended
 * through the API, topped up with bulk-appended single-chat messages. The rate is the log's
 * events over the rebuild's run time, less the CLI's start-up (timed with `--help`, which loads
 * the same modules and exits).
 */
export const measureRebuild = async (context: BenchContext, env: EngineEnv): Promise<Figures> => {
  const before = await eventsInLog(context.database.url);
  const topUp = Math.max(0, context.plan.rebuildEvents - before);
  context.progress(`appending ${topUp} events for the rebuild (${before} in the log)`);
  const { perSecond } = await appendRebuildEvents(context.database.url, topUp);
  const events = await eventsInLog(context.database.url);
  context.note(
    `rebuild: ${events} events in the log, ${events - before} of them bulk-appended with ` +
      `appendToStream at ${Math.round(perSecond)}/s`,
  );
  const startup = await runCli(['rebuild', '--help'], env);
  context.progress(`rebuilding ${events} events`);
  const rebuild = await runCli(['rebuild'], env, { LOG_LEVEL: 'info' });
  const seconds = Math.max(rebuild.seconds - startup.seconds, 0.001);
  context.note(
    `rebuild: ${rebuild.seconds.toFixed(1)} s in all, ${startup.seconds.toFixed(1)} s of it CLI start-up; ` +
      `the CLI said: ${rebuild.summary.slice(0, 200)}`,
  );
  return { rebuild_events_per_s: events / seconds };
};
