import { parseArgs } from 'node:util';
import { type Logger, MAX_PARTITIONS } from '@im/domain';
import { openDatabase } from '@im/eventstore';
import {
  createProgress,
  type EngineDatabase,
  type EngineSchema,
  projectionStatus,
  rebuildPartition,
  rebuildReadModel,
  verifyReadModel,
} from '@im/projector';
import {
  COMMANDS,
  type Command,
  commandHelp,
  EXIT,
  type Options,
  partitionNumber,
  positiveInteger,
  UsageError,
  usage,
} from './cli/commands.ts';
import { describeRebuild, describeStatus, describeVerify } from './cli/describe.ts';
import { requestCommand, watchCommand } from './cli/nats-commands.ts';
import { type Config, loadConfig, projectorThreads } from './config.ts';
import { findNatsServer, startEmbeddedNats } from './embedded-nats.ts';
import { startEngine } from './engine.ts';
import { StartupFailure } from './errors.ts';
import { createLogger } from './logger.ts';
import { migrateToLatest } from './migrate.ts';

/** A partition number the database does not have is the caller's mistake (exit 2). */
const asUsageError = (error: unknown): never => {
  if (error instanceof RangeError) throw new UsageError(`--${error.message}`);
  throw error;
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
  threads: positiveInteger(options, 'threads') ?? projectorThreads(config),
  signal: interruptible(),
  progress: createProgress({
    label,
    output: process.stderr,
    logger,
    logEveryMs: (positiveInteger(options, 'progress-every') ?? 5) * 1000,
  }),
});

/** `start`: the engine until SIGINT or SIGTERM, with a nats-server of its own when NATS_URL is unset. */
const startCommand = async (config: Config, logger: Logger): Promise<number> => {
  // Without NATS_URL, a nats-server of its own where there is one to run (as PGlite).
  const binary = process.env.NATS_URL === undefined ? findNatsServer() : undefined;
  const nats = binary ? await startEmbeddedNats(binary, config.DATA_DIR, logger) : undefined;
  try {
    const engine = await startEngine(nats ? { ...config, NATS_URL: nats.url } : config, logger);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    logger.info('stopping');
    await engine.stop();
  } finally {
    await nats?.stop();
  }
  return EXIT.ok;
};

/** `rebuild`: the whole read model, one partition in place, or a dry run that only compares. */
const rebuildCommand = async (
  options: Options,
  config: Config,
  logger: Logger,
): Promise<number> => {
  const dryRun = options['dry-run'] === true;
  const replay = replayOptions(options, config, logger, dryRun ? 'rebuild (dry run)' : 'rebuild');
  const only = partitionNumber(options);
  if (only !== undefined && options.partitions !== undefined)
    throw new UsageError('--partition and --partitions: choose one');
  const onePartition = only === undefined ? {} : { only };
  return withDatabase(config, async (database) => {
    await migrateToLatest(database);
    if (dryRun) {
      const result = await verifyReadModel({ database, ...replay, ...onePartition }).catch(
        asUsageError,
      );
      logger.info('rebuild dry run done', { ...result, comparison: undefined });
      process.stdout.write(describeVerify(result));
      return result.equal ? EXIT.ok : EXIT.failed;
    }
    const partitions = positiveInteger(options, 'partitions');
    if (partitions !== undefined && partitions > MAX_PARTITIONS)
      throw new UsageError(`--partitions: at most ${MAX_PARTITIONS}`);
    const result =
      only === undefined
        ? await rebuildReadModel({ database, ...replay, partitions })
        : await rebuildPartition({ database, ...replay, only }).catch(asUsageError);
    logger.info('rebuild done: switched to the rebuilt read model', { ...result });
    process.stdout.write(describeRebuild(result));
    return EXIT.ok;
  });
};

const run = async (
  name: Command,
  options: Options,
  config: Config,
  positionals: readonly string[],
): Promise<number> => {
  const logger = createLogger({ level: config.LOG_LEVEL, base: { instance: config.INSTANCE_ID } });
  switch (name) {
    case 'request':
      return requestCommand(config, positionals, positiveInteger(options, 'timeout'));
    case 'watch':
      return watchCommand(config, positionals, { all: options.all === true });
    case 'migrate':
      return withDatabase(config, async (database) => {
        const result = await migrateToLatest(database);
        logger.info('migrated', { applied: result.results?.map((r) => r.migrationName) ?? [] });
        return EXIT.ok;
      });
    case 'start':
      return startCommand(config, logger);
    case 'rebuild':
      return rebuildCommand(options, config, logger);
    case 'verify': {
      const replay = replayOptions(options, config, logger, 'verify');
      const only = partitionNumber(options);
      return withDatabase(config, async (database) => {
        await migrateToLatest(database);
        const result = await verifyReadModel({
          database,
          ...replay,
          ...(only === undefined ? {} : { only }),
        }).catch(asUsageError);
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
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...COMMANDS[command].options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: 'positionals' in COMMANDS[command],
    });
    options = parsed.values as Options;
    positionals = parsed.positionals;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  if (options.help) {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  try {
    return await run(command, options, loadConfig(), positionals);
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
    // A reason start-up gives in a sentence is the whole line; anything else keeps its stack.
    const line =
      error instanceof StartupFailure
        ? { level: 'error', msg: error.message }
        : { level: 'error', msg: 'fatal', error: String(error?.stack ?? error) };
    process.stderr.write(`${JSON.stringify(line)}\n`);
    process.exit(EXIT.failed);
  },
);
