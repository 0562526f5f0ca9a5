import { resolve } from 'node:path';
import { connectApi } from './api-client.ts';
import { createBenchDatabase } from './bench-database.ts';
import type { EngineEnv } from './cli-process.ts';
import type { BenchContext } from './context.ts';
import { type EngineProcess, startEngineProcess } from './engine-process.ts';
import { measureCallbacks } from './figures/callbacks.ts';
import { measureCommands } from './figures/commands.ts';
import { measureGroupFanout } from './figures/group-fanout.ts';
import { measureFirstPage, measureFullList } from './figures/lists.ts';
import { measureMessages, type SingleChats } from './figures/messages.ts';
import { createGrownVsFresh } from './figures/mixed-load.ts';
import { measureNatsEcho } from './figures/nats-echo.ts';
import { measureProjection } from './figures/projection.ts';
import { measureRawInsert } from './figures/raw-insert.ts';
import { measureRebuild } from './figures/rebuild.ts';
import type { Figures } from './figures.ts';
import type { OwnedConversation } from './load/owner-conversations.ts';
import { describeMachine } from './machine.ts';
import { planFor } from './plan.ts';
import { waitUntilPublished } from './quiet.ts';
import { renderTable, writeResults } from './report.ts';

const RESULTS = resolve(import.meta.dirname, 'results.json');
const adminUrl =
  process.env.DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

const began = performance.now();
const progress = (line: string) =>
  process.stderr.write(
    `[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}\n`,
  );

type Step = (name: string, work: () => Promise<Figures>) => Promise<void>;

/** The figures measured against the running engine, each step on its own. */
const measureAll = async (
  context: BenchContext,
  step: Step,
  engine: EngineProcess,
  grownVsFresh: ReturnType<typeof createGrownVsFresh>,
): Promise<void> => {
  const { plan, database } = context;
  let chats: SingleChats | undefined;
  const needChats = () => {
    if (!chats) throw new Error('no single chats: the messages figure failed');
    return chats;
  };
  await step('baseline: raw INSERT + COMMIT, 32 clients', () => measureRawInsert(context));
  await step('baseline: NATS echo', () => measureNatsEcho(context));
  await step('paced mixed load, fresh database', grownVsFresh.fresh);
  await step('recordMessage, 32 in flight', async () => {
    const measured = await measureMessages(context);
    chats = measured.chats;
    return measured.figures;
  });
  await step('owner commands, 32 in flight', () => measureCommands(context, needChats()));
  await step('getAllConversationList, 1,000 conversations', () => measureFullList(context));
  let peers: OwnedConversation[] = [];
  await step(`first page, ${plan.bigOwnerConversations} vs 100 conversations`, async () => {
    const measured = await measureFirstPage(context);
    peers = measured.peers;
    return measured.figures;
  });
  await step('callbacks at 1,000 commands/s', async () => {
    if (peers.length === 0) throw new Error('no owners to command: the page figure failed');
    await waitUntilPublished(database.url);
    return measureCallbacks(context, peers);
  });
  await step(`group fan-out, ${plan.groupMembers} members`, async () => {
    await waitUntilPublished(database.url);
    return measureGroupFanout(context);
  });
  await step('peak memory', async () => ({ peak_rss_mb: engine.peakRssMb() }));
  context.progress('stopping the engine');
};

/** The ratios, results.json and the table with the notes. */
const report = (run: {
  figures: Figures;
  notes: string[];
  failures: string[];
  plan: ReturnType<typeof planFor>;
  postgresql: string;
  nats: string;
}) => {
  const { figures, notes, failures, plan } = run;
  if (figures.raw_insert_tps) {
    if (figures.commands_per_s !== undefined)
      figures.commands_vs_raw_insert = figures.commands_per_s / figures.raw_insert_tps;
    if (figures.messages_per_s !== undefined)
      figures.messages_vs_raw_insert = figures.messages_per_s / figures.raw_insert_tps;
  }
  const machine = describeMachine({ postgresql: run.postgresql, nats: run.nats });
  writeResults(RESULTS, figures, machine, plan.quick);
  const seconds = Math.round((performance.now() - began) / 1000);
  process.stdout.write(
    `\n${renderTable(figures)}\n\n` +
      `${plan.quick ? 'quick' : 'full'} run in ${seconds} s on ${machine.cores} cores, ` +
      `${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgresql}, NATS ${machine.nats}\n` +
      notes.map((line) => `- ${line}\n`).join('') +
      failures.map((line) => `- FAILED ${line}\n`).join('') +
      `results: ${RESULTS}\n`,
  );
};

const main = async (): Promise<number> => {
  const plan = planFor(process.argv.includes('--quick'));
  const database = await createBenchDatabase(adminUrl);
  const id = database.name.slice('bench_'.length);
  const env: EngineEnv = {
    DATABASE_URL: database.url,
    NATS_URL: natsUrl,
    SUBJECT_PREFIX: `${database.name}.conversation`,
    STREAM_NAME: `BENCH_${id}`,
  };
  const notes: string[] = [];
  const figures: Figures = {};
  const failures: string[] = [];
  let engine: EngineProcess | undefined;
  const api = await connectApi(natsUrl, env.SUBJECT_PREFIX);
  const natsVersion = api.nc.info?.version ?? 'unknown';
  const cleanUp = async () => {
    await engine?.stop();
    engine = undefined;
    const jsm = await api.nc.jetstreamManager();
    await jsm.streams.delete(env.STREAM_NAME).catch(() => false);
    await api.close();
    await database.drop();
  };
  process.once('SIGINT', () => {
    progress('interrupted: stopping the engine and dropping the bench database');
    void cleanUp().finally(() => process.exit(130));
  });

  const context: BenchContext = {
    plan,
    api,
    database,
    adminUrl,
    natsUrl,
    subjectPrefix: env.SUBJECT_PREFIX,
    note: (line) => notes.push(line),
    progress,
  };
  const step = async (name: string, work: () => Promise<Figures>) => {
    progress(name);
    try {
      Object.assign(figures, await work());
      // Which step makes the engine's peak: its high-water mark after each.
      if (engine) progress(`${name}: engine peak RSS ${Math.round(engine.peakRssMb())} MB so far`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      failures.push(`${name}: ${reason}`);
      progress(`${name} FAILED: ${reason}`);
    }
  };

  try {
    progress(
      `${plan.quick ? 'quick' : 'full'} run; database ${database.name}, starting the engine`,
    );
    const grownVsFresh = createGrownVsFresh(context);
    engine = await startEngineProcess(env, api);
    await measureAll(context, step, engine, grownVsFresh);
    await engine.stop();
    engine = undefined;
    await step(`rebuild, ${plan.rebuildEvents} events`, () => measureRebuild(context, env));
    progress('starting the engine on the grown database');
    engine = await startEngineProcess(env, api);
    await step('paced mixed load, grown database', grownVsFresh.grown);
    await engine.stop();
    engine = undefined;
    await step(`projection of ${plan.projectionEvents} events, 1 thread and one per core`, () =>
      measureProjection(context, env),
    );
  } finally {
    await cleanUp();
  }

  report({ figures, notes, failures, plan, postgresql: database.serverVersion, nats: natsVersion });
  return failures.length === 0 ? 0 : 1;
};

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
