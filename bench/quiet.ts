import pg from 'pg';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Waits until the engine has published every callback it owes (its outbox is empty), so that a
 * backlog left by loading data does not slow the next measurement.
 */
export const waitUntilPublished = async (databaseUrl: string, timeoutMs = 300_000) => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query<{ pending: number }>(
        'SELECT count(*)::int AS pending FROM conversation_change',
      );
      if (rows[0]?.pending === 0) return;
      if (Date.now() > deadline)
        throw new Error(`${rows[0]?.pending} callbacks still unpublished after ${timeoutMs} ms`);
      await sleep(250);
    }
  } finally {
    await client.end();
  }
};
