import type { Logger } from '@im/domain';
import type { Db } from '../read-model/schema.ts';
import { vacuumOutbox } from './outbox.ts';

/** Published outbox rows between two vacuums of the outbox. */
const VACUUM_EVERY_ROWS = 5000;

/**
 * Vacuums the outbox every few thousand published rows, beside the publishing, not in its way
 * (VACUUM blocks no read, insert or delete): its dead rows would otherwise make each read a scan.
 */
export const createOutboxVacuum = (db: Db, logger: Logger) => {
  let since = 0;
  let vacuuming: Promise<void> | undefined;
  return {
    published(rows: number) {
      since += rows;
      if (since < VACUUM_EVERY_ROWS || vacuuming) return;
      since = 0;
      vacuuming = vacuumOutbox(db)
        .catch((error) => logger.warn('outbox vacuum failed', { error }))
        .finally(() => {
          vacuuming = undefined;
        });
    },
    /** Resolves once no vacuum runs. */
    settled: async () => {
      await vacuuming;
    },
  };
};
