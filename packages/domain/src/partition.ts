/** How many partitions a database may be split into: a partition set fits one 64-bit mask. */
export const MAX_PARTITIONS = 64;

/**
 * The partition an owner belongs to: FNV-1a (32-bit) of the userID's UTF-8 bytes, modulo the
 * number of partitions. Stable across processes, releases and platforms, as it must be: every
 * owner's rows, checkpoint and callbacks follow it. userIDs are ASCII (ID_PATTERN), so their
 * UTF-8 bytes are their char codes.
 */
export const partitionOf = (userID: string, partitions: number): number => {
  if (partitions <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < userID.length; i++) {
    hash ^= userID.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
};

/** 0, 1, …, partitions - 1. */
export const allPartitions = (partitions: number): number[] =>
  Array.from({ length: partitions }, (_, i) => i);
