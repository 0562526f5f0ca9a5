import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { message, startTestEngine, useCleanup } from './support/harness.ts';
import { startPrivatePostgres } from './support/private-postgres.ts';

describe('a retried message', () => {
  const cleanup = useCleanup();

  it('answers the same seq as a duplicate and leaves no error in PostgreSQL’s log', async () => {
    const postgres = await startPrivatePostgres();
    cleanup(() => postgres.remove());
    const t = await startTestEngine({ DATABASE_URL: postgres.url });
    cleanup(() => t.stop());
    const first = await t.api.recordMessage(
      message({ clientMsgID: 'm1', sendID: 'ann', recvID: 'ben' }),
    );
    // Retried one after another, and several at once, as a message service would after a timeout.
    const again = await t.api.recordMessage(
      message({ clientMsgID: 'm1', sendID: 'ann', recvID: 'ben' }),
    );
    const together = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.api.recordMessage(message({ clientMsgID: 'm1', sendID: 'ann', recvID: 'ben' })),
      ),
    );
    expect(first).toEqual({ conversationID: 'si_ann_ben', seq: 1, duplicate: false });
    for (const reply of [again, ...together]) expect(reply).toEqual({ ...first, duplicate: true });
    expect(await t.countEvents()).toBe(1);
    const log = await readFile(join(postgres.dataDir, 'server.log'), 'utf8');
    expect(log).not.toMatch(/ERROR/);
  });
});
