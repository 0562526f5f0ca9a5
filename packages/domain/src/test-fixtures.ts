import type { ConversationState } from './conversation.ts';
import { decideOwnerCommand, type OwnerCommand } from './decide.ts';
import type { ConversationEvent, MessageRecorded } from './events.ts';
import { evolve } from './evolve.ts';
import { singleConversationID } from './ids.ts';

/** Shared by the domain's unit tests: a fixed clock and single-chat messages. */
export const T0 = 1_700_000_000_000;
export const NOW = T0 + 60_000;

/** The single-chat message with this seq, sent at T0 + seq. */
export const singleMessage = (seq: number, sendID: string, recvID: string): MessageRecorded => ({
  type: 'MessageRecorded',
  data: {
    conversationID: singleConversationID(sendID, recvID),
    conversationType: 1,
    message: {
      clientMsgID: `c${seq}`,
      serverMsgID: '',
      sendID,
      recvID,
      groupID: '',
      sessionType: 1,
      contentType: 101,
      content: `message ${seq}`,
      sendTime: T0 + seq,
      seq,
    },
    atUserIDList: [],
  },
});

/** evolve, for an owner who must have the conversation afterwards. */
export const apply = (
  state: ConversationState | undefined,
  event: ConversationEvent,
  owner: string,
) => {
  const next = evolve(state, event, owner);
  if (!next) throw new Error(`${owner} has no conversation`);
  return next;
};

/** An owner command decided on `state` at `now` and applied: its events and the state after. */
export const runOwner = (state: ConversationState, command: OwnerCommand, now = NOW) => {
  const decision = decideOwnerCommand(command, state, now);
  if (!decision.ok) throw new Error(decision.error.message);
  return {
    events: decision.value,
    state: decision.value.reduce((s, event) => apply(s, event, command.owner), state),
  };
};
