import { type Method, type RequestOf, singleConversationID } from '@im/domain';
import pg from 'pg';
import { singleMessage } from '../api-client.ts';
import type { BenchContext } from '../context.ts';
import type { Figures } from '../figures.ts';
import { runPaced } from '../paced.ts';
import { createSamples } from '../percentiles.ts';
import { waitUntilPublished } from '../quiet.ts';
import { joinMembers } from './group-fanout.ts';

const USERS = 2000;
const GROUPS = 20;
const GROUP_MEMBERS = 50;
/** Requests left unanswered past this many seconds of the rate end the run: the load is too much. */
const BACKLOG_SECONDS = 2;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The same sequence of numbers in [0, 1) from the same seed (mulberry32), so runs are alike. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};

type Request = { [M in Method]: { method: M; body: RequestOf<M> } }[Method] & {
  /** Run once the engine said yes. */
  onAnswered?: () => void;
};

/**
 * What a day of an IM product asks of the engine, in proportion: messages (single and into groups
 * of 50) with reads, pins and list, page and total queries of the people they went to.
 */
export const createMix = (tag: string, population: () => number = () => USERS) => {
  const random = seeded(20_261_130);
  const pick = (n: number) => Math.floor(random() * n);
  const user = (i: number) => `${tag}u${i}`;
  const groupOf = (g: number) => `${tag}g${g}`;
  const memberOf = (g: number, i: number) => user((g * GROUP_MEMBERS + i) % USERS);
  const pairs: Array<[string, string]> = [];
  const pins = new Map<string, boolean>();
  let messages = 0;
  const next = (): Request => {
    const roll = pick(100);
    const [owner, peer] = pairs.length > 0 ? (pairs[pick(pairs.length)] as [string, string]) : [];
    if (roll < 35 || owner === undefined || peer === undefined) {
      const users = population();
      const sender = pick(users);
      const receiver = (sender + 1 + pick(users - 1)) % users;
      const body = singleMessage(`${tag}m${messages++}`, user(sender), user(receiver));
      // reads and pins go to conversations that exist
      return {
        method: 'recordMessage',
        body,
        onAnswered: () => pairs.push([user(receiver), user(sender)]),
      };
    }
    if (roll < 45) {
      const g = pick(GROUPS);
      return {
        method: 'recordMessage',
        body: {
          clientMsgID: `${tag}m${messages++}`,
          sendID: memberOf(g, pick(GROUP_MEMBERS)),
          groupID: groupOf(g),
          sessionType: 3,
          contentType: 101,
          content: 'hello everyone',
          sendTime: Date.now(),
        },
      };
    }
    if (roll < 55)
      return { method: 'markSingleMessageHasRead', body: { userID: owner, uid: peer } };
    if (roll < 60) {
      const g = pick(GROUPS);
      const body = { userID: memberOf(g, pick(GROUP_MEMBERS)), groupID: groupOf(g) };
      return { method: 'markGroupMessageHasRead', body };
    }
    if (roll < 65) {
      const conversationID = singleConversationID(owner, peer);
      const isPinned = !pins.get(`${owner} ${conversationID}`);
      pins.set(`${owner} ${conversationID}`, isPinned);
      return { method: 'pinConversation', body: { userID: owner, conversationID, isPinned } };
    }
    if (roll < 85) return { method: 'getConversationListPage', body: { userID: owner, limit: 20 } };
    if (roll < 95) return { method: 'getTotalUnreadMsgCount', body: { userID: owner } };
    return { method: 'getAllConversationList', body: { userID: owner } };
  };
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    groupID: groupOf(g),
    members: Array.from({ length: GROUP_MEMBERS }, (_, i) => memberOf(g, i)),
  }));
  return { next, groups };
};

/**
 * A paced mixed load well under saturation (`plan.mixedPerSecond`), the same sequence of
 * requests on every run, over users of its own (`tag`): the p99 of every reply, warm-up left out.
 */
export const measureMixedLoad = async (context: BenchContext, tag: string) => {
  const { mixedPerSecond, mixedWarmupMs, mixedWindowMs } = context.plan;
  const mix = createMix(tag);
  for (const group of mix.groups) await joinMembers(context, group.groupID, group.members);
  const samples = createSamples();
  const byMethod = new Map<Method, ReturnType<typeof createSamples>>();
  let unanswered = 0;
  let failed = 0;
  const started = performance.now();
  const { sent, gaveUp } = await runPaced({
    perSecond: mixedPerSecond,
    durationMs: mixedWarmupMs + mixedWindowMs,
    giveUp: () => unanswered > BACKLOG_SECONDS * mixedPerSecond,
    send: () => {
      const request = mix.next();
      const sentAt = performance.now();
      const measured = sentAt - started >= mixedWarmupMs;
      unanswered += 1;
      void context.api
        .call(request.method, request.body as never)
        .then(
          (outcome) => outcome.ok,
          () => false,
        )
        .then((succeeded) => {
          unanswered -= 1;
          if (succeeded) request.onAnswered?.();
          else failed += 1;
          if (!measured) return;
          const took = performance.now() - sentAt;
          samples.record(took);
          const method = byMethod.get(request.method) ?? createSamples();
          byMethod.set(request.method, method);
          method.record(took);
        });
    },
  });
  while (unanswered > 0) await sleep(20);
  const summary =
    `${sent} requests at ${mixedPerSecond}/s${gaveUp ? ' (stopped: the engine fell behind)' : ''}, ` +
    `${samples.count()} timed after ${mixedWarmupMs / 1000} s warm-up, ` +
    `p50 ${samples.percentile(50).toFixed(1)} ms, p99 ${samples.percentile(99).toFixed(1)} ms, ` +
    `max ${samples.max().toFixed(1)} ms${failed > 0 ? `, ${failed} failed` : ''}; p99 by method: ` +
    [...byMethod]
      .map(([method, timed]) => `${method} ${timed.percentile(99).toFixed(1)}`)
      .join(', ');
  if (gaveUp) throw new Error(summary);
  return { p99: samples.percentile(99), summary };
};

/**
 * VACUUM ANALYZE of the whole database, as autovacuum leaves one that grew over time, then a
 * CHECKPOINT: the bulk load's gigabyte of WAL would otherwise start one that writes its pages out
 * during the load, which a database that grew over time wrote out long before.
 */
const settle = async (context: BenchContext) => {
  const client = new pg.Client({ connectionString: context.database.url });
  await client.connect();
  try {
    await client.query('VACUUM (ANALYZE)');
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
};

const databaseSize = async (context: BenchContext) => {
  const client = new pg.Client({ connectionString: context.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ events: number; conversations: number; mb: number }>(
      `SELECT (SELECT count(*)::int FROM events) AS events,
              (SELECT count(*)::int FROM conversation_item) AS conversations,
              round(pg_database_size(current_database()) / 1048576.0) AS mb`,
    );
    const size = rows[0] as { events: number; conversations: number; mb: number };
    return `${size.events} events, ${size.conversations} conversation rows, ${size.mb} MB`;
  } finally {
    await client.end();
  }
};

/**
 * The p99 of the mixed load on the database as it grows: first on the fresh one, then once the
 * rebuild's events made it large; the figure is the second over the first.
 */
export const createGrownVsFresh = (context: BenchContext) => {
  let fresh: number | undefined;
  const run = async (tag: string) => {
    const size = await databaseSize(context);
    const { p99, summary } = await measureMixedLoad(context, tag);
    context.note(`mixed load, ${tag} database (${size}): ${summary}`);
    return p99;
  };
  return {
    fresh: async (): Promise<Figures> => {
      fresh = await run('fresh');
      return {};
    },
    grown: async (): Promise<Figures> => {
      if (fresh === undefined) throw new Error('no p99 of the fresh database to compare with');
      // The rebuild's events were bulk-appended, never projected: the rebuild owes their
      // callbacks, some 200,000, which the engine publishes first. A database that grew over time
      // published each as it came, and had autovacuum's visits and checkpoints since.
      const started = performance.now();
      await waitUntilPublished(context.database.url);
      const published = performance.now();
      await settle(context);
      const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
      context.note(
        `grown database: the rebuild's callbacks published in ${seconds(started, published)} s, ` +
          `then vacuumed and checkpointed in ${seconds(published, performance.now())} s, before its load`,
      );
      return { command_p99_grown_vs_fresh: (await run('grown')) / fresh };
    },
  };
};
