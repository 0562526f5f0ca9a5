/**
 * A request the engine cannot serve at the moment, though nothing is wrong with it: answered 503,
 * and the caller retries. Errors a caller must act on otherwise are results (`fail`), not throws.
 */
export class ServiceUnavailable extends Error {
  readonly code = 503;
}

/**
 * The projector did not reach what a command needs within READ_YOUR_WRITES_TIMEOUT_MS: the state
 * to decide on, or the command's own effect. Before the append nothing was changed; after it, the
 * change is recorded and will show, and a retry (every command is idempotent) answers it.
 */
export class ProjectionBehind extends ServiceUnavailable {
  constructor(readonly recorded: boolean) {
    super(
      recorded
        ? 'projection: behind the log; the change was recorded and shows once projected, and a retry answers with it'
        : 'projection: behind the log; nothing was changed, retry the request',
    );
    this.name = 'ProjectionBehind';
  }
}

/** Start-up cannot go on, for a reason a sentence tells: logged as that line alone, no stack. */
export class StartupFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupFailure';
  }
}
