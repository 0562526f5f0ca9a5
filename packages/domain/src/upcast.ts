import type { ConversationEvent } from './events.ts';

/**
 * The shape every event is written in today. When an event's shape changes, this number goes
 * up, and `upcast` gains the step that brings the older shape to the new one: the log is never
 * rewritten, and the projector, rebuild and verify read every event through `upcast`.
 */
export const EVENT_SCHEMA_VERSION = 1;

/** An event as the log keeps it. */
export interface StoredEventShape {
  type: string;
  data: unknown;
  schemaVersion: number;
}

export class UnknownEventVersion extends Error {
  constructor(readonly stored: StoredEventShape) {
    super(
      `${stored.type} was written in shape ${stored.schemaVersion}, newer than this engine's ${EVENT_SCHEMA_VERSION}: run the newer engine`,
    );
    this.name = 'UnknownEventVersion';
  }
}

/**
 * A stored event in today's shape. Every event is in shape 1 so far: the step is the identity, and
 * a newer shape than this engine knows stops it (an older engine must not guess at newer events).
 */
export const upcast = (stored: StoredEventShape): ConversationEvent => {
  if (stored.schemaVersion > EVENT_SCHEMA_VERSION) throw new UnknownEventVersion(stored);
  return { type: stored.type, data: stored.data } as ConversationEvent;
};
