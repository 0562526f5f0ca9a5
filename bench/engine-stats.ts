import { RequestStrategy } from 'nats';
import type { BenchContext } from './context.ts';

/**
 * The projector's figures from `$SRV.STATS` of the engine under measurement: the instance whose
 * endpoints carry the bench's subject prefix (other engines may serve the same name on the server).
 */
export const createEngineStats = async (context: BenchContext) => {
  const { nc } = context.api;
  const infos = await nc.services
    .client({
      strategy: RequestStrategy.Timer,
      maxWait: 1000,
    })
    .info('conversation-engine');
  let id: string | undefined;
  for await (const info of infos) {
    if (info.endpoints.some((e) => e.subject.startsWith(`${context.subjectPrefix}.`))) id = info.id;
  }
  if (id === undefined) throw new Error(`no engine serves ${context.subjectPrefix}.*`);
  return {
    async projector(): Promise<{ lastBatch?: { events: number; ms: number } }> {
      const reply = await nc.request(`$SRV.STATS.conversation-engine.${id}`, undefined, {
        timeout: 5000,
      });
      const body = reply.json<{ endpoints: Array<{ data?: { projector?: object } }> }>();
      return body.endpoints[0]?.data?.projector ?? {};
    },
  };
};
