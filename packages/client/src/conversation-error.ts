import type { ErrorReply } from '@im/domain';

/**
 * A request the engine answered with an error (SPEC §4): `errCode` is the status (400 bad input,
 * 404 unknown conversation, 409 conflict, 413 too large, 500, 503 retry later), `errMsg` names
 * the field and the problem, `errDlt` the request's operationID where the engine failed.
 */
export class ConversationError extends Error implements ErrorReply {
  readonly errCode: number;
  readonly errMsg: string;
  readonly errDlt: string;

  constructor(
    reply: ErrorReply,
    readonly method: string,
  ) {
    super(`${method}: ${reply.errCode} ${reply.errMsg}`);
    this.name = 'ConversationError';
    this.errCode = reply.errCode;
    this.errMsg = reply.errMsg;
    this.errDlt = reply.errDlt;
  }

  /** Whether the same request may simply be sent again later (503). */
  get retryable(): boolean {
    return this.errCode === 503;
  }
}
