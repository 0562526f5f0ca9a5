import { readFileSync } from 'node:fs';
import { type Method, requestSchemas } from '@im/domain';
import { connect, DeliverPolicy, type NatsConnection } from 'nats';
import { type Config, callbackPrefix } from '../config.ts';
import { embeddedNatsUrlFile } from '../embedded-nats.ts';
import { connectionOptions } from '../nats-connection.ts';
import { withoutPassword } from '../until-available.ts';
import { EXIT, UsageError } from './commands.ts';

/** NATS_URL, or without it the server `pnpm start` runs of its own, when it runs one. */
const natsUrl = (config: Config): string => {
  if (process.env.NATS_URL !== undefined) return config.NATS_URL;
  try {
    return readFileSync(embeddedNatsUrlFile(config.DATA_DIR), 'utf8').trim();
  } catch {
    return config.NATS_URL;
  }
};

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A CLI connection: it tries once, and says where it failed, rather than wait as the engine does. */
const connectOnce = async (given: Config, name: string): Promise<NatsConnection> => {
  const config = { ...given, NATS_URL: natsUrl(given) };
  try {
    return await connect({ ...connectionOptions(config, name), maxReconnectAttempts: 0 });
  } catch (error) {
    throw new Error(
      `NATS at ${config.NATS_URL.split(',').map(withoutPassword).join(',')}: ${(error as Error).message}`,
    );
  }
};

/** An error code as an exit status (below 256): its first and last digits, 404 → 44, 503 → 53. */
const exitStatusOf = (code: number): number =>
  Number.isInteger(code) && code >= 100 && code < 1000
    ? Math.floor(code / 100) * 10 + (code % 10)
    : EXIT.failed;

/** `request <method> [json]`: the reply on stdout; a failure's code as the exit status. */
export const requestCommand = async (
  config: Config,
  positionals: readonly string[],
  timeoutMs = 10_000,
): Promise<number> => {
  const [method, json = '{}', ...extra] = positionals;
  if (!method) throw new UsageError('request: which method? (e.g. getAllConversationList)');
  if (extra.length > 0) throw new UsageError('request: one JSON argument (quote it)');
  if (!(method in requestSchemas))
    throw new UsageError(`request: no method ${method}; see docs/spec.md §4 and §8`);
  try {
    JSON.parse(json);
  } catch (error) {
    throw new UsageError(`request: the body is not JSON: ${(error as Error).message}`);
  }
  const nc = await connectOnce(config, 'conversation-engine cli request');
  try {
    const reply = await nc.request(
      `${config.SUBJECT_PREFIX}.${method as Method}`,
      encoder.encode(json),
      {
        timeout: timeoutMs,
      },
    );
    const body = decoder.decode(reply.data);
    const code = reply.headers?.get('Nats-Service-Error-Code');
    if (code) {
      process.stderr.write(`${body}\n`);
      return exitStatusOf(Number(code));
    }
    process.stdout.write(`${body}\n`);
    return EXIT.ok;
  } catch (error) {
    process.stderr.write(
      `no answer from ${config.SUBJECT_PREFIX}.${method}: ${(error as Error).message} (is the engine running?)\n`,
    );
    return EXIT.failed;
  } finally {
    await nc.close();
  }
};

/** `watch <userID>`: one JSON line per callback of the user's, read from the callback stream. */
export const watchCommand = async (
  config: Config,
  positionals: readonly string[],
  options: { all: boolean },
): Promise<number> => {
  const [userID, ...extra] = positionals;
  if (!userID || extra.length > 0) throw new UsageError('watch: one userID');
  if (!requestSchemas.getTotalUnreadMsgCount.safeParse({ userID }).success)
    throw new UsageError(`watch: ${userID} is not a userID`);
  const nc = await connectOnce(config, 'conversation-engine cli watch');
  const subjectPrefix = `${callbackPrefix(config)}.${userID}.`;
  // An ordered consumer: in order, nothing left behind on the server when the watch ends.
  const consumer = await nc.jetstream().consumers.get(config.STREAM_NAME, {
    filterSubjects: `${subjectPrefix}>`,
    deliver_policy: options.all ? DeliverPolicy.All : DeliverPolicy.New,
  });
  const messages = await consumer.consume();
  const stop = () => messages.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stderr.write(`watching ${userID}'s callbacks (Ctrl-C ends)\n`);
  for await (const msg of messages) {
    const body = msg.json<{ version: number; data: unknown }>();
    const callback = msg.subject.slice(subjectPrefix.length);
    process.stdout.write(
      `${JSON.stringify({ callback, version: body.version, data: body.data })}\n`,
    );
  }
  await nc.close();
  return EXIT.ok;
};
