import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { configEnv, runCli, spawnCli, stopProcess } from './support/cli-process.ts';
import { freePort } from './support/free-port.ts';
import { connectClient, testConfig, useCleanup } from './support/harness.ts';
import { startPrivateNats } from './support/private-nats.ts';

describe('pnpm start says what it waits for', () => {
  const cleanup = useCleanup();

  it('with nothing on the NATS port nor the PostgreSQL port: names both URLs within 2 s, without the password, and keeps running', async () => {
    const natsPort = await freePort();
    const postgresPort = await freePort();
    const config = await testConfig({ NATS_URL: `nats://127.0.0.1:${natsPort}` });
    const unreachable = `postgres://postgres:secret@127.0.0.1:${postgresPort}/postgres`;
    const started = Date.now();
    const engine = spawnCli(
      [],
      configEnv(config, { DATABASE_URL: unreachable, LOG_LEVEL: 'info' }),
      { command: ['pnpm', 'start'] },
    );
    cleanup(() => stopProcess(engine, 'SIGKILL'));

    await engine.waitForLog(
      (line) => line.msg === `waiting for NATS at nats://127.0.0.1:${natsPort}`,
      2000,
    );
    await engine.waitForLog(
      (line) =>
        line.msg ===
        `waiting for PostgreSQL at postgres://postgres:***@127.0.0.1:${postgresPort}/postgres`,
      Math.max(0, 2000 - (Date.now() - started)),
    );
    expect(Date.now() - started).toBeLessThanOrEqual(2000);
    const hint = engine.logLines().find((line) => String(line.msg).startsWith('waiting for NATS'));
    expect(hint?.hint).toMatch(/nats-server -js/);
    expect(engine.stderr()).not.toContain('secret');
    expect(engine.child.exitCode).toBeNull();
  }, 30_000);

  it('with NATS_URL unset and nats-server on the PATH: runs its own with JetStream in DATA_DIR, serves, and stops it on exit', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'embedded-nats-'));
    cleanup(() => rm(dataDir, { recursive: true, force: true }));
    const config = await testConfig();
    const { NATS_URL: _unset, ...env } = configEnv(config, {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    });
    // What pnpm start runs, the compiled engine (built as pnpm start builds it), run here without
    // pnpm: a signal to pnpm does not reach it.
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed']);
    const engine = spawnCli([], env, {
      command: [process.execPath, 'dist/engine.mjs', 'start'],
    });
    cleanup(() => stopProcess(engine, 'SIGKILL'));
    await engine.waitForLog((line) => line.msg === 'engine started', 30_000);
    const started = engine
      .logLines()
      .find((line) => String(line.msg).startsWith('NATS_URL is unset: started nats-server'));
    expect(started).toMatchObject({ storeDir: join(dataDir, 'nats') });
    const url = String(started?.url);
    expect(url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    // The CLI finds it too, without NATS_URL.
    const reply = await runCli(['request', 'getTotalUnreadMsgCount', '{"userID":"nobody"}'], env);
    expect(reply.stdout).toBe('{"total":0}\n');

    expect((await stopProcess(engine, 'SIGTERM')).code).toBe(0);
    const port = Number(url.split(':').at(-1));
    const answers = () =>
      connect({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: 500 }).then(
        (nc) => nc.close().then(() => true),
        () => false,
      );
    // Stopped with the engine, before it exited.
    expect(await answers()).toBe(false);
    expect(existsSync(join(dataDir, 'nats.url'))).toBe(false);
  }, 60_000);

  it('against a NATS without JetStream: one line that says so, and exit 1', async () => {
    const port = await freePort();
    const nats = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cleanup(async () => nats.kill('SIGKILL'));
    await new Promise<void>((ready) =>
      nats.stderr?.on('data', (chunk) => String(chunk).includes('Server is ready') && ready()),
    );
    const config = await testConfig({ NATS_URL: `nats://127.0.0.1:${port}` });
    const engine = spawnCli(['start'], configEnv(config, { LOG_LEVEL: 'info' }));
    cleanup(() => stopProcess(engine, 'SIGKILL'));
    expect((await engine.exited).code).toBe(1);
    const lines = engine.stderr().trim().split('\n');
    expect(lines.at(-1)).toBe(
      JSON.stringify({
        level: 'error',
        msg: `NATS at nats://127.0.0.1:${port} runs without JetStream, which the callbacks need: start nats-server with -js`,
      }),
    );
    expect(engine.stderr()).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('once a NATS server comes up on the port it waits for, it connects and serves', async () => {
    const port = await freePort();
    const config = await testConfig({ NATS_URL: `nats://127.0.0.1:${port}` });
    const engine = spawnCli([], configEnv(config, { LOG_LEVEL: 'info' }), {
      command: ['pnpm', 'start'],
    });
    cleanup(() => stopProcess(engine, 'SIGKILL'));
    await engine.waitForLog(
      (line) => line.msg === `waiting for NATS at nats://127.0.0.1:${port}`,
      5000,
    );
    const nats = await startPrivateNats({ port });
    cleanup(() => nats.remove());
    await engine.waitForLog((line) => line.msg === 'engine started', 30_000);
    const client = await connectClient(config);
    cleanup(() => client.close());
    const reply = await client.request('getTotalUnreadMsgCount', { userID: 'nobody' });
    expect(reply.body).toEqual({ total: 0 });
  }, 60_000);
});
