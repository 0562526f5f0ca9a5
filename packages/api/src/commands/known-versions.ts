import type { LogPosition } from '@im/eventstore';

export interface KnownVersion {
  version: number;
  lastPosition: LogPosition | undefined;
}

/**
 * Where this process last left each stream it appended to: a command's first guess of the
 * stream's version, which saves reading it. The append checks the guess (expected version); when
 * another process moved the stream on, the append fails, and the command reads it anew. The least
 * recently appended streams are forgotten past `capacity`.
 */
export interface KnownVersions {
  get(stream: string): KnownVersion | undefined;
  remember(stream: string, version: KnownVersion): void;
  forget(stream: string): void;
}

export const createKnownVersions = (capacity = 50_000): KnownVersions => {
  const versions = new Map<string, KnownVersion>();
  return {
    get: (stream) => versions.get(stream),
    remember(stream, version) {
      versions.delete(stream);
      versions.set(stream, version);
      if (versions.size > capacity) versions.delete(versions.keys().next().value as string);
    },
    forget: (stream) => {
      versions.delete(stream);
    },
  };
};
