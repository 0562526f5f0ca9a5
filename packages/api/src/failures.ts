import type { Method } from '@im/domain';
import { StorageUnavailable } from '@im/eventstore';
import type { ServiceMsg } from 'nats';
import type { EngineContext } from './context.ts';
import { ServiceUnavailable } from './errors.ts';

const encoder = new TextEncoder();

/** SPEC §4 error shape: headers for the services convention, and a body OpenIM clients read. */
export const respondError = (msg: ServiceMsg, code: number, message: string, detail = '') => {
  msg.respondError(
    code,
    message,
    encoder.encode(JSON.stringify({ errCode: code, errMsg: message, errDlt: detail })),
  );
};

/**
 * What a thrown error answers, by its class: 503 when the request may simply be retried (the
 * projector behind, PostgreSQL away: the outage log tells the story once), 500 otherwise, logged
 * whole.
 */
export const describeFailure = (
  error: unknown,
  request: { method: Method; operationID: string | undefined },
  context: Pick<EngineContext, 'logger' | 'outage'>,
): { code: 500 | 503; message: string } => {
  if (error instanceof StorageUnavailable) {
    context.outage.requestFailed();
    return { code: 503, message: 'storage: unavailable, retry later' };
  }
  if (error instanceof ServiceUnavailable) {
    // The projector's own report says when and why it is held back, every few seconds.
    context.logger.debug('request not served now', { ...request, reason: error.message });
    return { code: error.code, message: error.message };
  }
  context.logger.error('request failed', { ...request, error });
  return { code: 500, message: 'internal: the request failed; see the engine log' };
};
