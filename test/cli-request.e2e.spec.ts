import { expect, it } from 'vitest';
import { configEnv, runCli, spawnCli } from './support/cli-process.ts';
import { message, useTestEngine } from './support/harness.ts';

const t = useTestEngine();

it('pnpm cli request calls any endpoint, prints the reply as JSON, and exits with the error’s code', async () => {
  const env = configEnv(t.config);
  const recorded = await runCli(
    [
      'request',
      'recordMessage',
      JSON.stringify(message({ clientMsgID: 'cli-1', sendID: 'cli-a', recvID: 'cli-b' })),
    ],
    env,
  );
  expect(recorded.code).toBe(0);
  expect(JSON.parse(recorded.stdout)).toEqual({
    conversationID: 'si_cli-a_cli-b',
    seq: 1,
    duplicate: false,
  });
  const total = await runCli(['request', 'getTotalUnreadMsgCount', '{"userID":"cli-b"}'], env);
  expect(JSON.parse(total.stdout)).toEqual({ total: 1 });

  const unknown = await runCli(
    [
      'request',
      'pinConversation',
      '{"userID":"cli-b","conversationID":"si_cli-b_cli-x","isPinned":true}',
    ],
    env,
  );
  expect(unknown.code).toBe(44);
  expect(JSON.parse(unknown.stderr)).toMatchObject({ errCode: 404 });
  const bad = await runCli(['request', 'getTotalUnreadMsgCount', '{"userID":"a.b"}'], env);
  expect(bad.code).toBe(40);
  expect(JSON.parse(bad.stderr).errMsg).toMatch(/^userID: /);

  // Mistakes of the command line itself are usage errors, named before anything is sent.
  const noMethod = await runCli(['request', 'dropEverything', '{}'], env);
  expect(noMethod.code).toBe(2);
  expect(noMethod.stderr).toContain('no method dropEverything');
  const notJson = await runCli(['request', 'getTotalUnreadMsgCount', '{userID'], env);
  expect(notJson.code).toBe(2);
  expect(notJson.stderr).toContain('not JSON');
}, 60_000);

it('pnpm cli watch prints a user’s callbacks as they are published', async () => {
  const env = configEnv(t.config);
  const watch = spawnCli(['watch', 'cli-w'], env);
  try {
    await expect.poll(() => watch.stderr(), { timeout: 20_000 }).toContain('watching cli-w');
    await t.request(
      'recordMessage',
      message({ clientMsgID: 'w-1', sendID: 'cli-v', recvID: 'cli-w' }),
    );
    await expect
      .poll(() => watch.stdout().split('\n').filter(Boolean).length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(2);
    const lines = watch
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.callback).sort()).toEqual([
      'OnNewConversation',
      'OnTotalUnreadMessageCountChanged',
    ]);
    expect(lines.find((line) => line.callback === 'OnTotalUnreadMessageCountChanged')?.data).toBe(
      1,
    );
  } finally {
    watch.child.kill('SIGINT');
  }
  expect((await watch.exited).code).toBe(0);
}, 60_000);
