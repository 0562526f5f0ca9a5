import { parseArgs } from 'node:util';
import type { Logger } from '@im/domain';
import { openDatabase } from '@im/eventstore';
import {
  createProgress,
  type EngineDatabase,
  type EngineSchema,
  type ProjectionStatus,
  projectionStatus,
  rebuildReadModel,
  type VerifyResult,
  verifyReadModel,
} from '@im/projector';
import { type Config, loadConfig } from './config.ts';
import { startEngine } from './engine.ts';
import { createLogger } from './logger.ts';
import { migrateToLatest } from './migrate.ts';

/** Exit codes scripts can rely on. */
const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const REPLAY_OPTIONS = `  --batch-size <n>         events read and applied at a time (default 10000)
  --cache-rows <n>         conversation rows kept in memory before the replay goes through
                           its table instead (default 2000000)`;

const COMMANDS = {
  start: {
    summary: 'run the engine: migrate, project, publish callbacks, serve the NATS API',
    help: `Runs until SIGINT or SIGTERM, then stops cleanly.

exit codes: 0 stopped cleanly, 1 failed`,
    options: {},
  },
  migrate: {
    summary: 'bring the database schema to the latest version, then exit',
    help: `exit codes: 0 migrated (or already up to date), 1 failed`,
    options: {},
  },
  rebuild: {
    summary: 'rebuild the read model from the event log beside the live one, then switch',
    help: `Replays the whole event log into a new table while the API keeps serving from the
live one, follows the events that arrive meanwhile, then switches in one transaction.
Progress: a bar on a terminal (events done/total, events/s, ETA); JSON log lines otherwise.

options:
  --dry-run                build and verify against the live read model; do not switch
${REPLAY_OPTIONS}
  --progress-every <s>     seconds between progress log lines off a terminal (default 5)

exit codes: 0 switched (--dry-run: equal), 1 failed (--dry-run: differs), 2 usage`,
    options: {
      'dry-run': { type: 'boolean' },
      'batch-size': { type: 'string' },
      'cache-rows': { type: 'string' },
      'progress-every': { type: 'string' },
    },
  },
  verify: {
    summary: 'rebuild into a scratch table and compare it with the live read model',
    help: `Replays the event log up to the live projector's checkpoint into a scratch table and
compares every stored column of every row, both ways, at that checkpoint.

options:
${REPLAY_OPTIONS}
  --progress-every <s>     seconds between progress log lines off a terminal (default 5)
  --json                   print the result as JSON

exit codes: 0 equal, 1 different (a short summary says how) or failed, 2 usage`,
    options: {
      'batch-size': { type: 'string' },
      'cache-rows': { type: 'string' },
      'progress-every': { type: 'string' },
      json: { type: 'boolean' },
    },
  },
  status: {
    summary: 'log head, projector checkpoint, lag, and which process runs the projector',
    help: `options:
  --json                   print the figures as JSON

exit codes: 0 shown, 1 failed (database unreachable), 2 usage`,
    options: { json: { type: 'boolean' } },
  },
} as const;

type Command = keyof typeof COMMANDS;
type Options = Record<string, string | boolean | undefined>;

class UsageError extends Error {}

const usage = () =>
  `usage: pnpm cli <command> [options]   (pnpm cli <command> --help for its options)

commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`)
  .join('\n')}

Configuration comes from the environment (DATABASE_URL, NATS_URL, LOG_LEVEL, ...); see README.md.`;

const commandHelp = (name: Command) =>
  `usage: pnpm cli ${name} [options]\n\n${COMMANDS[name].summary}\n\n${COMMANDS[name].help}\n`;

const positiveInteger = (options: Options, name: string): number | undefined => {
  const value = options[name];
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new UsageError(`--${name}: expected a positive integer, got ${String(value)}`);
  return parsed;
};

const withDatabase = async <T>(config: Config, work: (database: EngineDatabase) => Promise<T>) => {
  const database = await openDatabase<EngineSchema>({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
  });
  try {
    return await work(database);
  } finally {
    await database.close();
  }
};

/** Ctrl-C stops a replay between batches; its scratch table is dropped on the way out. */
const interruptible = () => {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
};

const replayOptions = (options: Options, config: Config, logger: Logger, label: string) => ({
  logger,
  databaseUrl: config.DATABASE_URL,
  batchSize: positiveInteger(options, 'batch-size'),
  cacheRows: positiveInteger(options, 'cache-rows'),
  signal: interruptible(),
  progress: createProgress({
    label,
    output: process.stderr,
    logger,
    logEveryMs: (positiveInteger(options, 'progress-every') ?? 5) * 1000,
  }),
});

const number = new Intl.NumberFormat('en-US');

const describeVerify = (result: VerifyResult): string => {
  const { comparison } = result;
  const at = `at checkpoint ${result.checkpoint.position.transactionId}/${result.checkpoint.position.globalPosition}`;
  if (result.equal)
    return `equal: ${number.format(comparison.liveRows)} rows, ${number.format(result.events)} events ${at}\n`;
  const lines = [
    `DIFFERENT ${at}`,
    `  rows: live ${number.format(comparison.liveRows)}, rebuilt ${number.format(comparison.rebuiltRows)}`,
    `  rows only in live (or differing there): ${number.format(comparison.onlyInLive)}`,
    `  rows only in the rebuild (or differing there): ${number.format(comparison.onlyInRebuild)}`,
  ];
  if (comparison.driftedTotals > 0)
    lines.push(
      `  owners whose stored total unread differs from their rows: ${number.format(comparison.driftedTotals)}`,
    );
  if (result.rebuiltHandled !== result.checkpoint.handled)
    lines.push(
      `  events handled: live ${result.checkpoint.handled}, rebuilt ${result.rebuiltHandled}`,
    );
  for (const row of comparison.sample)
    lines.push(
      `  ${row.kind.padEnd(7)} owner=${row.owner} conversationID=${row.conversationID}${
        row.fields.length > 0 ? ` fields: ${row.fields.join(', ')}` : ''
      }`,
    );
  return `${lines.join('\n')}\n`;
};

const describeStatus = (status: ProjectionStatus): string => {
  const position = (p: { transactionId: string; globalPosition: number } | undefined) =>
    p ? `tx ${p.transactionId}, position ${p.globalPosition}` : 'empty';
  const { checkpoint, lag, lease } = status;
  const lines = [
    `log head     ${position(status.head)} (${number.format(status.events)} events)`,
    `checkpoint   ${position(checkpoint.position)}, ${number.format(checkpoint.handled)} events handled${
      checkpoint.updatedAt ? `, updated ${checkpoint.updatedAt.toISOString()}` : ''
    }`,
    `lag          ${number.format(lag.events)} events, ${lag.seconds.toFixed(1)} s`,
    `projector    ${
      lease?.active
        ? `${lease.holder} (lease until ${lease.expiresAt.toISOString()})`
        : lease && lease.holder !== ''
          ? `none active (${lease.holder}'s lease expired ${lease.expiresAt.toISOString()})`
          : 'none active'
    }`,
  ];
  if (lag.withheld > 0) {
    const by = lag.heldBackBy;
    lines.push(
      `held back    ${number.format(lag.withheld)} committed events wait for an older append still running${
        by
          ? `: pid ${by.pid} in database ${by.database}, ${by.state}, running ${by.runningSeconds} s: ${by.query}`
          : ' that just ended'
      }`,
    );
  }
  return `${lines.join('\n')}\n`;
};

const run = async (name: Command, options: Options, config: Config): Promise<number> => {
  const logger = createLogger({ level: config.LOG_LEVEL, base: { instance: config.INSTANCE_ID } });
  switch (name) {
    case 'migrate':
      return withDatabase(config, async (database) => {
        const result = await migrateToLatest(database);
        logger.info('migrated', { applied: result.results?.map((r) => r.migrationName) ?? [] });
        return EXIT.ok;
      });
    case 'start': {
      const engine = await startEngine(config, logger);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      logger.info('stopping');
      await engine.stop();
      return EXIT.ok;
    }
    case 'rebuild': {
      const dryRun = options['dry-run'] === true;
      const replay = replayOptions(
        options,
        config,
        logger,
        dryRun ? 'rebuild (dry run)' : 'rebuild',
      );
      return withDatabase(config, async (database) => {
        await migrateToLatest(database);
        if (dryRun) {
          const result = await verifyReadModel({ database, ...replay });
          logger.info('rebuild dry run done', { ...result, comparison: undefined });
          process.stdout.write(describeVerify(result));
          return result.equal ? EXIT.ok : EXIT.failed;
        }
        const result = await rebuildReadModel({ database, ...replay });
        logger.info('rebuild done: switched to the rebuilt read model', { ...result });
        process.stdout.write(
          `rebuilt ${number.format(result.rows)} rows from ${number.format(result.events)} events in ${result.seconds.toFixed(1)} s (${number.format(result.eventsPerSecond)} events/s)\n`,
        );
        return EXIT.ok;
      });
    }
    case 'verify': {
      const replay = replayOptions(options, config, logger, 'verify');
      return withDatabase(config, async (database) => {
        await migrateToLatest(database);
        const result = await verifyReadModel({ database, ...replay });
        logger.info(result.equal ? 'verify: equal' : 'verify: different', {
          events: result.events,
          seconds: result.seconds,
          eventsPerSecond: result.eventsPerSecond,
        });
        process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : describeVerify(result));
        return result.equal ? EXIT.ok : EXIT.failed;
      });
    }
    case 'status':
      return withDatabase(config, async (database) => {
        const status = await projectionStatus(database.db);
        process.stdout.write(options.json ? `${JSON.stringify(status)}\n` : describeStatus(status));
        return EXIT.ok;
      });
  }
};

const main = async (argv: string[]): Promise<number> => {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (!(name in COMMANDS)) {
    process.stderr.write(`unknown command: ${name}\n\n${usage()}\n`);
    return EXIT.usage;
  }
  const command = name as Command;
  let options: Options;
  try {
    options = parseArgs({
      args: rest,
      options: { ...COMMANDS[command].options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values as Options;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  if (options.help) {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  try {
    return await run(command, options, loadConfig());
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${commandHelp(command)}`);
      return EXIT.usage;
    }
    if ((error as Error)?.name === 'AbortError') {
      process.stderr.write('interrupted; the scratch table was dropped\n');
      return EXIT.interrupted;
    }
    throw error;
  }
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', msg: 'fatal', error: String(error?.stack ?? error) })}\n`,
    );
    process.exit(EXIT.failed);
  },
);
