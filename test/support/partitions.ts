import { partitionOf } from '@im/domain';
import { type EngineDatabase, leaseHolders, projectorLease, readLayout } from '@im/projector';

/** The process that projects the owner's partition now, if a live one does. */
export const holderOf = async (database: EngineDatabase, owner: string) => {
  const partitions = (await readLayout(database.db))?.partitions ?? 1;
  const name = projectorLease(partitionOf(owner, partitions));
  const lease = (await leaseHolders(database.db, 'projector:')).find((l) => l.name === name);
  return lease?.live ? lease.holder : undefined;
};
