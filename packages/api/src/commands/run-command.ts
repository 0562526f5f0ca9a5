import { EVENT_SCHEMA_VERSION, fail, ok, type Result } from '@im/domain';
import {
  type AppendResult,
  comparePositions,
  type LogPosition,
  type NewEvent,
} from '@im/eventstore';
import type { EngineContext } from '../context.ts';
import { ProjectionBehind } from '../errors.ts';
import type { RequestContext } from '../request-context.ts';

/** A state to decide on, and what says whether it is current. */
export interface Read<State> {
  state: State;
  /** The version of the command's stream the state was read at: the append expects it. */
  version: number;
  /**
   * For a state read from the read model: where the projector stood, and the last event of the
   * streams the state is made of. The state is current once the first has passed the second.
   */
  checkpoint?: LogPosition;
  latest?: LogPosition;
  /** What a reply must see projected when the decision appends nothing (a repeated message). */
  replyAfter?: LogPosition;
}

/** What a decider answers: the events to append (none for no change) and the reply. */
export interface Decision<Reply> {
  events: readonly NewEvent[];
  reply: Reply;
}

export type Decide<State, Reply> = (state: State) => Result<Decision<Reply>>;

/** How one attempt went: nothing to append, appended, or the stream moved since it was read. */
type Attempt<Reply> =
  | { kind: 'decided'; decided: Result<Decision<Reply>> }
  | { kind: 'appended'; reply: Reply; result: AppendResult }
  | { kind: 'conflict' };

/** What a command decides on and appends to. */
export interface CommandTarget<State> {
  /** The stream the events go to, expected at the version read. */
  stream: string;
  /** The partitions whose projectors its events change: the ones its reply waits for. */
  partitions: readonly number[] | 'all';
  /** The partitions the state it decides on is read from, when not those (default: those). */
  readFrom?: readonly number[] | 'all';
  /** Reads the state and the stream's version. */
  read(): Promise<Read<State>>;
  /** Told how each append went: where the stream is now, or undefined after a conflict. */
  appended?(result: AppendResult | undefined): void;
  /** The 409 sentence when the stream kept moving through every attempt. */
  conflict: string;
}

const ATTEMPTS = 8;

/** Waits until the partitions' projectors have passed `position`, or throws ProjectionBehind. */
export const awaitProjected = async (
  context: EngineContext,
  target: { partitions: readonly number[] | 'all' },
  position: LogPosition | undefined,
  recorded: boolean,
): Promise<void> => {
  if (!position) return;
  const reached = await context.watcher.waitFor(
    position,
    target.partitions,
    context.readYourWritesTimeoutMs,
  );
  if (!reached) throw new ProjectionBehind(recorded);
};

const isCurrent = (read: Read<unknown>, target: LogPosition | undefined) =>
  !target || !read.checkpoint || comparePositions(read.checkpoint, target) >= 0;

/**
 * The state to decide on, holding every event of its streams that was there when the command
 * came: read again once the projector has passed them. It asks no more of the second read than
 * the first one's events, so a stream that keeps moving cannot keep a command waiting.
 */
const currentRead = async <State>(context: EngineContext, target: CommandTarget<State>) => {
  const read = await target.read();
  if (isCurrent(read, read.latest)) return read;
  await awaitProjected(
    context,
    { partitions: target.readFrom ?? target.partitions },
    read.latest,
    false,
  );
  const again = await target.read();
  if (!isCurrent(again, read.latest)) throw new ProjectionBehind(false);
  return again;
};

/** The events as appended: in today's shape, with the request's cause and traceparent. */
const toNewEvents = (
  events: readonly NewEvent[],
  request: RequestContext | undefined,
): NewEvent[] =>
  events.map((event) => ({
    ...event,
    schemaVersion: EVENT_SCHEMA_VERSION,
    ...(request ? { metadata: { ...request } } : {}),
  }));

/** Decides on the state read and appends the events, expecting the version read. */
const decideAndAppend = async <State, Reply>(
  context: EngineContext,
  stream: string,
  read: Read<State>,
  decide: Decide<State, Reply>,
): Promise<Attempt<Reply>> => {
  const decided = decide(read.state);
  if (!decided.ok || decided.value.events.length === 0) return { kind: 'decided', decided };
  const outcome = await context.appends.append(
    stream,
    toNewEvents(decided.value.events, context.request),
    {
      expectedVersion: read.version,
    },
  );
  return outcome.ok
    ? { kind: 'appended', reply: decided.value.reply, result: outcome.value }
    : { kind: 'conflict' };
};

/**
 * The one way a command runs. Commands of one stream take turns in this process; each decides on
 * a current state (or fails with 503 before appending anything), appends with the version it
 * decided on, decides again when another process moved the stream meanwhile (409 only when that
 * outlasts every attempt), and answers once its effect is projected (read your writes), or with
 * 503 saying the change was recorded.
 */
export const runCommand = <State, Reply>(
  context: EngineContext,
  target: CommandTarget<State>,
  decide: Decide<State, Reply>,
): Promise<Result<Reply>> =>
  context.turns.run(target.stream, async () => {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const read = await currentRead(context, target);
      const attempted = await decideAndAppend(context, target.stream, read, decide);
      if (attempted.kind === 'decided') {
        if (!attempted.decided.ok) return attempted.decided;
        await awaitProjected(context, target, read.replyAfter, false);
        return ok(attempted.decided.value.reply);
      }
      target.appended?.(attempted.kind === 'appended' ? attempted.result : undefined);
      if (attempted.kind === 'conflict') continue;
      context.wakeProjector();
      await awaitProjected(context, target, attempted.result.lastPosition, true);
      return ok(attempted.reply);
    }
    return fail(409, target.conflict);
  });
