import { type Engine, startEngine } from '@im/api';
import { silentLogger } from '@im/domain';
import { openDatabase } from '@im/eventstore';
import { type EngineSchema, readModel } from '@im/projector';
import { describe, expect, it } from 'vitest';
import { message, testConfig, useCleanup } from './support/harness.ts';
import { patientClient } from './support/patient-client.ts';
import { startPrivatePostgres, startPrivateReplica } from './support/private-postgres.ts';

const APPLY_DELAY_MS = 300;

interface ReplicaStats {
  queries: number;
}
const replicaQueries = (engine: Engine) =>
  ((engine.stats() as { replicas?: ReplicaStats[] }).replicas ?? []).reduce(
    (sum, replica) => sum + replica.queries,
    0,
  );

describe('queries on a streaming read replica', () => {
  const cleanup = useCleanup();

  it('serve an owner’s own pin flips at once, waiting for the replica or reading the primary', async () => {
    const primary = await startPrivatePostgres();
    cleanup(() => primary.remove());
    const replica = await startPrivateReplica(primary, { applyDelayMs: APPLY_DELAY_MS });
    cleanup(() => replica.remove());
    const onReplica = await openDatabase<EngineSchema>({ url: replica.url, poolSize: 2 });
    cleanup(() => onReplica.close());

    const base = await testConfig({
      DATABASE_URL: primary.url,
      DATABASE_READ_URL: replica.url,
      PROJECTOR_THREADS: '1',
    });
    const client = await patientClient(base);
    cleanup(() => client.close());
    cleanup(async () => {
      await (await client.nc.jetstreamManager()).streams
        .delete(base.STREAM_NAME)
        .catch(() => false);
    });

    /** 30 flips of one pin, each read back by the owner at once; counts the flips the replica lacked. */
    const flips = async (engine: Engine, owner: string) => {
      const peer = `${owner}-peer`;
      await client.request(
        'recordMessage',
        message({ clientMsgID: `${owner}-m`, sendID: peer, recvID: owner }),
      );
      const conversationID = `si_${[owner, peer].sort().join('_')}`;
      await expect
        .poll(
          async () =>
            (
              await readModel
                .getConversationStates(onReplica.db, owner, [conversationID])
                .catch(() => [])
            ).length,
          { message: 'the conversation on the replica', timeout: 30_000 },
        )
        .toBe(1);
      let replicaBehind = 0;
      const before = replicaQueries(engine);
      for (let i = 0; i < 30; i++) {
        const isPinned = i % 2 === 0;
        const pinned = await client.request('pinConversation', {
          userID: owner,
          conversationID,
          isPinned,
        });
        const [seenThere] = await readModel.getConversationStates(onReplica.db, owner, [
          conversationID,
        ]);
        if ((seenThere?.version ?? 0) < pinned.conversation.version) replicaBehind++;
        const { conversations } = await client.request('getMultipleConversation', {
          userID: owner,
          conversationIDs: [conversationID],
        });
        expect(conversations[0]?.isPinned, `flip ${i}`).toBe(isPinned);
        const list = await client.request('getAllConversationList', { userID: owner });
        expect(list.conversations[0]?.isPinned, `flip ${i} in the list`).toBe(isPinned);
      }
      return { replicaBehind, replicaQueries: replicaQueries(engine) - before };
    };

    // Queries wait for the replica long enough for its apply delay: the replica serves them.
    const waiting = await startEngine({ ...base, READ_REPLICA_WAIT_MS: 2000 }, silentLogger);
    cleanup(() => waiting.stop());
    const waited = await flips(waiting, 'rw1');
    await waiting.stop();
    // The replica really was behind: read directly, it had not applied most flips yet.
    expect(waited.replicaBehind).toBeGreaterThanOrEqual(25);
    expect(waited.replicaQueries).toBe(60);

    // Queries that may not wait read the primary instead, and still see each flip.
    const hasty = await startEngine({ ...base, READ_REPLICA_WAIT_MS: 0 }, silentLogger);
    cleanup(() => hasty.stop());
    const fellBack = await flips(hasty, 'rw2');
    expect(fellBack.replicaBehind).toBeGreaterThanOrEqual(25);
    expect(fellBack.replicaQueries).toBeLessThan(60);

    // An owner with no write of this engine's reads the replica.
    const before = replicaQueries(hasty);
    await client.request('getTotalUnreadMsgCount', { userID: 'rw-other' });
    expect(replicaQueries(hasty)).toBe(before + 1);
    console.info(
      `replica applying ${APPLY_DELAY_MS} ms late: behind on ${waited.replicaBehind} and ${fellBack.replicaBehind} of 30 flips read directly; ${waited.replicaQueries} of 60 owner queries on the replica when they may wait 2 s, ${fellBack.replicaQueries} when they may not wait`,
    );
  }, 180_000);
});
