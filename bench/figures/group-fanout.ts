import { groupConversationID } from '@im/domain';
import type { Msg } from 'nats';
import { type BenchContext, callbackSubject } from '../context.ts';
import type { Figures } from '../figures.ts';

const JOIN_CHUNK = 10_000;

interface Round {
  clientMsgID: string;
  sentAt: number;
  members: Set<string>;
  done: (ms: number) => void;
}

/** Joins the members to the group, a chunk a request. */
export const joinMembers = async (context: BenchContext, groupID: string, members: string[]) => {
  for (let i = 0; i < members.length; i += JOIN_CHUNK) {
    const reply = await context.api.call(
      'joinGroup',
      { groupID, userIDs: members.slice(i, i + JOIN_CHUNK) },
      { timeoutMs: 120_000 },
    );
    if (!reply.ok) throw new Error(`joinGroup: ${reply.error.errCode} ${reply.error.errMsg}`);
  }
};

/**
 * Listens to every member's conversation callbacks: `heard(clientMsgID)` resolves with the time
 * from now until `memberCount` distinct members had a callback carrying that message.
 */
const listenForFanout = async (
  context: BenchContext,
  conversationID: string,
  memberCount: number,
) => {
  let round: Round | undefined;
  const hear = (_error: Error | null, msg: Msg) => {
    if (!round) return;
    const body = msg.json<{
      userID: string;
      data: Array<{ conversationID: string; latestMsg: string }>;
    }>();
    const item = body.data[0];
    if (item?.conversationID !== conversationID) return;
    if ((JSON.parse(item.latestMsg) as { clientMsgID: string }).clientMsgID !== round.clientMsgID)
      return;
    round.members.add(body.userID);
    if (round.members.size === memberCount) round.done(performance.now() - round.sentAt);
  };
  const subscriptions = ['OnNewConversation', 'OnConversationChanged'].map((callback) =>
    context.api.nc.subscribe(callbackSubject(context, '*', callback), { callback: hear }),
  );
  await context.api.nc.flush();
  return {
    heard: (clientMsgID: string) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`${clientMsgID}: only ${round?.members.size} members called back in 120 s`),
            ),
          120_000,
        );
        round = {
          clientMsgID,
          sentAt: performance.now(),
          members: new Set(),
          done: (ms) => {
            clearTimeout(timer);
            resolve(ms);
          },
        };
      }),
    stop() {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
};

/**
 * One message into a group of 10,000 members, timed from the send to the callback of the last
 * member to hear of it (the distinct members whose callback carries that message).
 */
export const measureGroupFanout = async (context: BenchContext): Promise<Figures> => {
  const { groupMembers, groupMessages } = context.plan;
  const groupID = 'fanout';
  const members = Array.from({ length: groupMembers }, (_, i) => `member${i}`);
  const joinStarted = performance.now();
  await joinMembers(context, groupID, members);
  context.note(
    `group: ${groupMembers} members joined in ${Math.round(performance.now() - joinStarted)} ms`,
  );
  const fanout = await listenForFanout(context, groupConversationID(groupID), groupMembers);
  try {
    const times: number[] = [];
    // the first message brings the conversation into every list (OnNewConversation): not timed
    for (let i = 0; i <= groupMessages; i++) {
      const clientMsgID = `fanout${i}`;
      const heard = fanout.heard(clientMsgID);
      const reply = await context.api.call('recordMessage', {
        clientMsgID,
        sendID: members[i % members.length] as string,
        groupID,
        sessionType: 3,
        contentType: 101,
        content: 'hello everyone',
        sendTime: Date.now(),
      });
      if (!reply.ok) throw new Error(`recordMessage: ${reply.error.errCode} ${reply.error.errMsg}`);
      const ms = await heard;
      if (i === 0)
        context.note(`group: the first message reached all members in ${Math.round(ms)} ms`);
      else times.push(ms);
    }
    context.note(
      `group: ${times.length} timed message(s): ${times.map((t) => Math.round(t)).join(', ')} ms; the figure is the slowest`,
    );
    return { group_fanout_ms_10k: Math.max(...times) };
  } finally {
    fanout.stop();
  }
};
