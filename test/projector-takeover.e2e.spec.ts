import { describe, expect, it } from 'vitest';
import { collectCallbacks } from './support/callback-collector.ts';
import { type CliProcess, configEnv, runCli, stopProcess } from './support/cli-process.ts';
import { useEngineProcesses } from './support/engine-processes.ts';
import { message, type Reply } from './support/harness.ts';
import { holderOf } from './support/partitions.ts';

describe('two engine processes on one database', () => {
  const t = useEngineProcesses(['a', 'b']);

  /** A t.client as a gateway would be: on a timeout it sends the same request again. */
  const send = async (method: string, body: unknown): Promise<Reply> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await t.client.raw(method, body);
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  };

  it('when the projector process is killed, the other takes over and nothing is lost', async () => {
    const callbacks = await collectCallbacks(t.client.nc, t.config);
    const sendMessages = (from: number, to: number) =>
      Promise.all(
        Array.from({ length: to - from }, (_, i) =>
          send(
            'recordMessage',
            message({ clientMsgID: `t${from + i}`, sendID: `sender${from + i}`, recvID: 'bob' }),
          ),
        ),
      );
    const before = await sendMessages(0, 20);
    expect(before.map((reply) => reply.code)).toEqual(Array(20).fill(undefined));
    expect((await send('getTotalUnreadMsgCount', { userID: 'bob' })).body).toEqual({ total: 20 });

    const active = (await holderOf(t.database, 'bob')) ?? '';
    const victim = t.engines.get(active);
    expect(victim).toBeDefined();
    expect((await stopProcess(victim as CliProcess, 'SIGKILL')).signal).toBe('SIGKILL');
    t.engines.delete(active);
    const [survivor] = t.engines.keys();

    // Sent right after the kill: the survivor answers them once it has taken the lease over.
    const after = await sendMessages(20, 40);
    expect(after.map((reply) => reply.code)).toEqual(Array(20).fill(undefined));
    await expect
      .poll(async () => (await holderOf(t.database, 'bob')) === survivor, {
        message: 'the survivor holding bob’s partition',
        timeout: 60_000,
      })
      .toBe(true);
    await expect
      .poll(
        async () => (await send('getTotalUnreadMsgCount', { userID: 'bob' })).body.total === 40,
        { message: 'all 40 conversations in bob’s total', timeout: 60_000 },
      )
      .toBe(true);
    const list = (await send('getAllConversationList', { userID: 'bob' })).body.conversations;
    expect(list).toHaveLength(40);

    // Every conversation's callback arrives, from before and after the takeover.
    const received = await callbacks.until(
      (all) =>
        new Set(
          all
            .filter((c) => c.userID === 'bob' && c.name === 'OnNewConversation')
            .map((c) => c.data[0].conversationID),
        ).size === 40,
      60_000,
    );
    const versions = received.filter((c) => c.userID === 'bob').map((c) => c.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    await callbacks.stop();

    const verify = await runCli(['verify'], configEnv(t.config));
    expect(verify.stdout).toMatch(/^equal: /);
    expect(verify.code).toBe(0);
  }, 180_000);
});
