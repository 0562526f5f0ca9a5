import { openDatabase } from '@im/eventstore';
import { createLogger } from '@im/projector';
import { loadConfig } from './config.ts';
import { startEngine } from './engine.ts';
import { migrateToLatest } from './migrate.ts';

const HELP: Record<string, string> = {
  start: 'start     run the engine: migrate, project, publish callbacks, serve the NATS API',
  migrate: 'migrate   bring the database schema to the latest version, then exit',
};

const usage = () =>
  `usage: pnpm cli <command> [--help]\n\ncommands:\n${Object.values(HELP)
    .map((line) => `  ${line}`)
    .join('\n')}\n\nConfiguration comes from the environment; see README.md.`;

const main = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    process.stdout.write(`${usage()}\n`);
    return command ? 0 : 2;
  }
  if (!(command in HELP)) {
    process.stderr.write(`unknown command: ${command}\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help')) {
    process.stdout.write(`${HELP[command]}\n`);
    return 0;
  }
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, base: { instance: config.INSTANCE_ID } });
  switch (command) {
    case 'migrate': {
      const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
      try {
        const result = await migrateToLatest(database);
        logger.info('migrated', { applied: result.results?.map((r) => r.migrationName) ?? [] });
      } finally {
        await database.close();
      }
      return 0;
    }
    case 'start': {
      const engine = await startEngine(config, logger);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      logger.info('stopping');
      await engine.stop();
      return 0;
    }
  }
  return 2;
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', msg: 'fatal', error: String(error?.stack ?? error) })}\n`,
    );
    process.exit(1);
  },
);
