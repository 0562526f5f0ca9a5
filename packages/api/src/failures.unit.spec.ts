import { recordingLogger } from '@im/domain';
import { StorageUnavailable } from '@im/eventstore';
import { describe, expect, it } from 'vitest';
import { ProjectionBehind } from './errors.ts';
import { describeFailure } from './failures.ts';

describe('what a thrown error answers', () => {
  const request = { method: 'pinConversation' as const, operationID: 'op-1' };
  const setting = () => {
    let failed = 0;
    const logger = recordingLogger();
    return {
      logger,
      failed: () => failed,
      context: {
        logger,
        outage: {
          requestFailed() {
            failed += 1;
          },
        },
      },
    };
  };

  it('PostgreSQL away: 503 to retry, counted for the outage log, no line of its own', () => {
    const { context, logger, failed } = setting();
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(describeFailure(new StorageUnavailable(cause), request, context)).toEqual({
      code: 503,
      message: 'storage: unavailable, retry later',
    });
    expect(failed()).toBe(1);
    expect(logger.entries).toEqual([]);
  });

  it('the projector behind: 503 with the sentence that says whether the change was recorded', () => {
    const { context, logger, failed } = setting();
    expect(describeFailure(new ProjectionBehind(false), request, context)).toEqual({
      code: 503,
      message: 'projection: behind the log; nothing was changed, retry the request',
    });
    expect(describeFailure(new ProjectionBehind(true), request, context).message).toMatch(
      /^projection: behind the log; the change was recorded/,
    );
    expect(failed()).toBe(0);
    expect(logger.entries.map((entry) => entry.level)).toEqual(['debug', 'debug']);
  });

  it('anything else: 500 naming no internals, and the error logged whole with the request', () => {
    const { context, logger } = setting();
    const error = new TypeError('cannot read properties of undefined');
    expect(describeFailure(error, request, context)).toEqual({
      code: 500,
      message: 'internal: the request failed; see the engine log',
    });
    expect(logger.entries).toEqual([
      { level: 'error', msg: 'request failed', fields: { ...request, error } },
    ]);
  });

  it('goes by the class, not the words: an error that only reads like an outage is a 500', () => {
    const { context } = setting();
    expect(
      describeFailure(new Error('Connection terminated unexpectedly'), request, context).code,
    ).toBe(500);
  });
});
