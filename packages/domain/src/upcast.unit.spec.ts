import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_VERSION, UnknownEventVersion, upcast } from './upcast.ts';

describe('upcast: stored events in today’s shape', () => {
  const data = { owner: 'bob', conversationID: 'si_alice_bob', hasReadSeq: 3 };

  it('gives an event written in today’s shape as it was written', () => {
    expect(
      upcast({ type: 'ConversationMarkedRead', data, schemaVersion: EVENT_SCHEMA_VERSION }),
    ).toEqual({ type: 'ConversationMarkedRead', data });
  });

  it('refuses an event written by a newer engine, naming it and both shapes', () => {
    const newer = { type: 'ConversationMarkedRead', data, schemaVersion: EVENT_SCHEMA_VERSION + 1 };
    expect(() => upcast(newer)).toThrow(UnknownEventVersion);
    expect(() => upcast(newer)).toThrow(
      `ConversationMarkedRead was written in shape ${EVENT_SCHEMA_VERSION + 1}, newer than this engine's ${EVENT_SCHEMA_VERSION}`,
    );
  });
});
