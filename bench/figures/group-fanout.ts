import { groupConversationID } from '@im/domain';
import type { Msg } from 'nats';
import { type BenchContext, callbackSubject } from '../context.ts';
import { createEngineStats } from '../engine-stats.ts';
import type { Figures } from '../figures.ts';
import { createSamples, type Samples } from '../percentiles.ts';

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

/** Sends one text message into the group; answers the reply time. */
const sendInto = async (
  context: BenchContext,
  groupID: string,
  sendID: string,
  clientMsgID: string,
) => {
  const sentAt = performance.now();
  const reply = await context.api.call('recordMessage', {
    clientMsgID,
    sendID,
    groupID,
    sessionType: 3,
    contentType: 101,
    content: 'hello everyone',
    sendTime: Date.now(),
  });
  if (!reply.ok) throw new Error(`recordMessage: ${reply.error.errCode} ${reply.error.errMsg}`);
  return performance.now() - sentAt;
};

interface GroupRun {
  /** Reply times of `recordMessage`, first (untimed) message left out. */
  replies: Samples;
  /** From the send to the callback of the last member to hear of it. */
  fanouts: number[];
  /** The projector's time for the batch that held each message (its stats' last batch). */
  projections: number[];
}

/**
 * Messages into a group of `size` members, one at a time, each once every member heard of it:
 * the first brings the conversation into every list (OnNewConversation) and is not timed.
 */
const runGroup = async (
  context: BenchContext,
  groupID: string,
  size: number,
  messages: number,
): Promise<GroupRun> => {
  const members = Array.from({ length: size }, (_, i) => `${groupID}_member${i}`);
  const joinStarted = performance.now();
  await joinMembers(context, groupID, members);
  if (size > 2)
    context.note(
      `group: ${size} members joined in ${Math.round(performance.now() - joinStarted)} ms`,
    );
  const stats = await createEngineStats(context);
  const fanout = await listenForFanout(context, groupConversationID(groupID), size);
  const run: GroupRun = { replies: createSamples(), fanouts: [], projections: [] };
  try {
    for (let i = 0; i <= messages; i++) {
      const clientMsgID = `${groupID}${i}`;
      const heard = fanout.heard(clientMsgID);
      const replyMs = await sendInto(context, groupID, members[i % size] as string, clientMsgID);
      const ms = await heard;
      const batch = (await stats.projector()).lastBatch;
      if (i === 0) {
        if (size > 2)
          context.note(`group: the first message reached all members in ${Math.round(ms)} ms`);
        continue;
      }
      run.replies.record(replyMs);
      run.fanouts.push(ms);
      if (batch?.events === 1) run.projections.push(batch.ms);
    }
    return run;
  } finally {
    fanout.stop();
  }
};

const rounded = (values: number[]) => values.map((v) => Math.round(v)).join(', ');

/**
 * Messages into a group of 10,000 members and into one of 2: the time from the send to the last
 * member's callback (the slowest message is the figure), the projector's batch time, and the
 * median reply of `recordMessage` into the large group over the small one (O(1) writes show as 1).
 */
export const measureGroupFanout = async (context: BenchContext): Promise<Figures> => {
  const { groupMembers, groupMessages } = context.plan;
  const large = await runGroup(context, 'fanout', groupMembers, groupMessages);
  const small = await runGroup(context, 'pair', 2, groupMessages);
  const median = (samples: Samples) => samples.percentile(50);
  context.note(
    `group: ${large.fanouts.length} timed messages into ${groupMembers} members, every member called back in ${rounded(large.fanouts)} ms (the figure is the slowest); ` +
      `replies median ${median(large.replies).toFixed(1)} ms vs ${median(small.replies).toFixed(1)} ms into 2 members; ` +
      `projector batch ${large.projections.join(', ')} ms`,
  );
  return {
    group_fanout_ms_10k: Math.max(...large.fanouts),
    group_message_ms_10k_vs_2: median(large.replies) / median(small.replies),
    group_projection_ms_10k: Math.max(...large.projections),
  };
};
