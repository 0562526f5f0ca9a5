/** What `pnpm cli` offers: its commands, their help and options, and its exit codes. */

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const REPLAY_OPTIONS = `  --batch-size <n>         events read and applied at a time (default 10000)
  --cache-rows <n>         conversation rows kept in memory before the replay goes through
                           its table instead (default 2000000; each thread keeps its share)
  --threads <n>            worker threads the replay is split over by partition, each reading
                           the whole log for its partitions' owners (PostgreSQL only; default:
                           PROJECTOR_THREADS's, one when PostgreSQL runs on this machine)`;

export const COMMANDS = {
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
  --partitions <n>         build for n partitions (1–64) and make it the database's number:
                           running engines stop and must be restarted (default: keep it)
  --partition <k>          rebuild partition k alone (0 to partitions - 1), in place, while the
                           other partitions' projectors go on
${REPLAY_OPTIONS}
  --progress-every <s>     seconds between progress log lines off a terminal (default 5)

exit codes: 0 switched (--dry-run: equal), 1 failed (--dry-run: differs), 2 usage`,
    options: {
      'dry-run': { type: 'boolean' },
      partitions: { type: 'string' },
      partition: { type: 'string' },
      'batch-size': { type: 'string' },
      'cache-rows': { type: 'string' },
      threads: { type: 'string' },
      'progress-every': { type: 'string' },
    },
  },
  verify: {
    summary: 'rebuild into a scratch table and compare it with the live read model',
    help: `Replays the event log up to the live projector's checkpoint into a scratch table and
compares every stored column of every row, both ways, at that checkpoint.

options:
  --partition <k>          verify partition k alone (0 to partitions - 1): its owners' rows,
                           group rows and checkpoint (default: every partition)
${REPLAY_OPTIONS}
  --progress-every <s>     seconds between progress log lines off a terminal (default 5)
  --json                   print the result as JSON

exit codes: 0 equal, 1 different (a short summary says how) or failed, 2 usage`,
    options: {
      partition: { type: 'string' },
      'batch-size': { type: 'string' },
      'cache-rows': { type: 'string' },
      threads: { type: 'string' },
      'progress-every': { type: 'string' },
      json: { type: 'boolean' },
    },
  },
  request: {
    summary: 'call an endpoint: pnpm cli request <method> [json]; the reply is printed as JSON',
    help: `The request is JSON (default {}); the reply goes to stdout, an error's body to stderr.
Methods are those of docs/spec.md §4 and §8 (getAllConversationList, recordMessage, ...).

options:
  --timeout <ms>           how long to wait for the reply (default 10000)

exit codes: 0 answered; when it failed, the error's code by its first and last digits
(40 bad input, 44 unknown, 49 conflict, 43 too large, 50 internal, 53 storage
unavailable); 1 no answer (is the engine running?); 2 usage`,
    options: { timeout: { type: 'string' } },
    positionals: true,
  },
  watch: {
    summary: "print a user's callbacks as they are published: pnpm cli watch <userID>",
    help: `One JSON line per callback ({callback, version, data}) until Ctrl-C.

options:
  --all                    from the oldest callback the stream keeps, not only new ones

exit codes: 0 stopped, 1 failed (NATS unreachable, no callback stream), 2 usage`,
    options: { all: { type: 'boolean' } },
    positionals: true,
  },
  status: {
    summary: 'log head, projector checkpoint, lag, and which process runs the projector',
    help: `options:
  --json                   print the figures as JSON

exit codes: 0 shown, 1 failed (database unreachable), 2 usage`,
    options: { json: { type: 'boolean' } },
  },
} as const;

export type Command = keyof typeof COMMANDS;
export type Options = Record<string, string | boolean | undefined>;

export class UsageError extends Error {}

export const usage = () =>
  `usage: pnpm cli <command> [options]   (pnpm cli <command> --help for its options)

commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`)
  .join('\n')}

Configuration comes from the environment (DATABASE_URL, NATS_URL, LOG_LEVEL, ...); see README.md.`;

export const commandHelp = (name: Command) =>
  `usage: pnpm cli ${name} [options]\n\n${COMMANDS[name].summary}\n\n${COMMANDS[name].help}\n`;

/** `--partition k`: a partition's number, from 0. */
export const partitionNumber = (options: Options): number | undefined => {
  const value = options.partition;
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new UsageError(`--partition: expected a partition number from 0, got ${String(value)}`);
  return parsed;
};

export const positiveInteger = (options: Options, name: string): number | undefined => {
  const value = options[name];
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new UsageError(`--${name}: expected a positive integer, got ${String(value)}`);
  return parsed;
};
