import type { LogPosition } from '@im/eventstore';
import type { EngineContext } from '../context.ts';

export interface KnownVersion {
  version: number;
  lastPosition: LogPosition | undefined;
}

/** Streams remembered per engine; the least recently appended are forgotten past this. */
const CAPACITY = 50_000;

const known = new WeakMap<EngineContext, Map<string, KnownVersion>>();

const versionsOf = (context: EngineContext) => {
  let versions = known.get(context);
  if (!versions) {
    versions = new Map();
    known.set(context, versions);
  }
  return versions;
};

/**
 * Where this process last left each stream it appended to: a command's first guess of the
 * stream's version, which saves reading it. The append checks the guess (expected version);
 * when another process moved the stream on, the append fails, and the command reads it anew.
 */
export const knownVersions = (context: EngineContext) => {
  const versions = versionsOf(context);
  return {
    get: (stream: string) => versions.get(stream),
    remember(stream: string, version: KnownVersion) {
      versions.delete(stream);
      versions.set(stream, version);
      if (versions.size > CAPACITY) versions.delete(versions.keys().next().value as string);
    },
    forget: (stream: string) => versions.delete(stream),
  };
};
