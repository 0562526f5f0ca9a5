import type { Database, EventStoreSchema } from '@im/eventstore';
import type { Transaction } from 'kysely';

/**
 * A transaction kept open until `commit` is called: the late committer of the gap-safety tests.
 * `started` resolves once `work` has run inside it.
 */
export const holdOpen = <Schema extends EventStoreSchema>(
  database: Database<Schema>,
  work: (tx: Transaction<Schema>) => Promise<void>,
) => {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let ready = () => {};
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const done = database.db.transaction().execute(async (tx) => {
    await work(tx);
    ready();
    await released;
  });
  return {
    started,
    commit: async () => {
      release();
      await done;
    },
  };
};
