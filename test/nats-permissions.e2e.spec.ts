import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Engine, startEngine } from '@im/api';
import { type ConversationClient, createConversationClient } from '@im/client';
import { type Method, requestSchemas, silentLogger } from '@im/domain';
import { AckPolicy, connect, DeliverPolicy, Events, type JsMsg, type NatsConnection } from 'nats';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/cli-process.ts';
import { message, testConfig, useCleanup } from './support/harness.ts';
import { type PrivateNats, startPrivateNats } from './support/private-nats.ts';

const CONF = join(ROOT, 'docs/nats-permissions.conf');
const PREFIX = 'im.conversation';
const STREAM = 'IM_CONVERSATION_EVENTS';
/** What SPEC §4 gives the message and group services; gateways call every other method. */
const SERVICE_METHODS: readonly Method[] = ['recordMessage', 'joinGroup', 'leaveGroup'];
const ALL_METHODS = Object.keys(requestSchemas) as Method[];

const encoder = new TextEncoder();
const ROLES = ['engine', 'gateway', 'services', 'callbacks', 'monitor'] as const;
type Role = (typeof ROLES)[number];
const password = () => randomBytes(12).toString('hex');

/** The permission errors the server sent a connection (a refused publish or subscription). */
const permissionErrors = (nc: NatsConnection) => {
  const seen: Array<{ operation: string; subject: string }> = [];
  void (async () => {
    for await (const status of nc.status())
      if (status.type === Events.Error && status.permissionContext)
        seen.push(status.permissionContext);
  })();
  return seen;
};

/**
 * Who may call a method: a request to `{}` gets the engine's 400 (the body is bad, but the
 * request got through) or, when the server refused to pass it on, nats.js rejects the request
 * at once with PERMISSIONS_VIOLATION (the server's `-ERR 'Permissions Violation for Publish'`).
 */
const reach = async (nc: NatsConnection, method: Method): Promise<'answered' | 'denied'> => {
  try {
    const reply = await nc.request(`${PREFIX}.${method}`, encoder.encode('{}'), {
      timeout: 10_000,
    });
    expect(reply.headers?.get('Nats-Service-Error-Code'), method).toBe('400');
    return 'answered';
  } catch (error) {
    expect(error, method).toMatchObject({
      code: 'PERMISSIONS_VIOLATION',
      permissionContext: { operation: 'publish', subject: `${PREFIX}.${method}` },
    });
    return 'denied';
  }
};

const deniedPublish = (subject: string) => ({
  code: 'PERMISSIONS_VIOLATION',
  permissionContext: { operation: 'publish', subject },
});

describe('the NATS permissions of docs/nats-permissions.conf (docs/security.md)', () => {
  const cleanup = useCleanup();
  const passwords = Object.fromEntries(ROLES.map((role) => [role, password()])) as Record<
    Role,
    string
  >;
  let nats: PrivateNats;
  let engine: Engine;
  const nc = {} as Record<Exclude<Role, 'engine'>, NatsConnection>;
  const api = {} as Record<'gateway' | 'services' | 'callbacks', ConversationClient>;
  const errors = {} as Record<Exclude<Role, 'engine'>, ReturnType<typeof permissionErrors>>;

  beforeAll(async () => {
    // The file as it is: the port, address and JetStream come as flags, the passwords from the
    // server's environment, quoted, since the server parses a variable's value as configuration.
    nats = await startPrivateNats({
      config: CONF,
      env: Object.fromEntries(
        ROLES.map((role) => [`${role.toUpperCase()}_PASSWORD`, JSON.stringify(passwords[role])]),
      ),
    });
    cleanup(() => nats.remove());
    const address = `127.0.0.1:${nats.port}`;
    // The engine's credentials in NATS_URL, as an operator writes them (NATS_USER and
    // NATS_PASSWORD do the same).
    const config = await testConfig({
      NATS_URL: `nats://engine:${encodeURIComponent(passwords.engine)}@${address}`,
      SUBJECT_PREFIX: PREFIX,
      STREAM_NAME: STREAM,
    });
    engine = await startEngine(config, silentLogger);
    cleanup(() => engine.stop());
    for (const role of ['gateway', 'services', 'callbacks', 'monitor'] as const) {
      nc[role] = await connect({
        servers: address,
        user: role,
        pass: passwords[role],
        name: `permissions test ${role}`,
      });
      cleanup(() => nc[role].close());
      errors[role] = permissionErrors(nc[role]);
    }
    for (const role of ['gateway', 'services', 'callbacks'] as const)
      api[role] = createConversationClient(nc[role], { timeoutMs: 10_000, checkReplies: true });
  });

  it('docs/security.md shows the configuration file as it is', async () => {
    const [conf, doc] = await Promise.all([
      readFile(CONF, 'utf8'),
      readFile(join(ROOT, 'docs/security.md'), 'utf8'),
    ]);
    expect(doc).toContain(`\`\`\`conf\n${conf}\`\`\``);
  });

  it('refuses a connection without a user or with a wrong password', async () => {
    const address = `127.0.0.1:${nats.port}`;
    await expect(connect({ servers: address, reconnect: false })).rejects.toMatchObject({
      code: 'AUTHORIZATION_VIOLATION',
    });
    await expect(
      connect({ servers: address, user: 'gateway', pass: 'wrong', reconnect: false }),
    ).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
  });

  it('the message and group services may call recordMessage, joinGroup and leaveGroup, and nothing else', async () => {
    const reached = Object.fromEntries(
      await Promise.all(
        ALL_METHODS.map(async (method) => [method, await reach(nc.services, method)]),
      ),
    );
    expect(reached).toEqual(
      Object.fromEntries(
        ALL_METHODS.map((method) => [
          method,
          SERVICE_METHODS.includes(method) ? 'answered' : 'denied',
        ]),
      ),
    );
    await expect(
      api.services.recordMessage(message({ clientMsgID: 'p1', sendID: 'alice', recvID: 'bob' })),
    ).resolves.toMatchObject({ conversationID: 'si_alice_bob', seq: 1 });
    await expect(
      api.services.joinGroup({ groupID: 'team', userIDs: ['alice', 'bob'] }),
    ).resolves.toEqual({});
    await expect(api.services.getAllConversationList({ userID: 'bob' })).rejects.toMatchObject(
      deniedPublish(`${PREFIX}.getAllConversationList`),
    );
  });

  it('a gateway may call the queries and owner commands, but not recordMessage, joinGroup or leaveGroup', async () => {
    const reached = Object.fromEntries(
      await Promise.all(
        ALL_METHODS.map(async (method) => [method, await reach(nc.gateway, method)]),
      ),
    );
    expect(reached).toEqual(
      Object.fromEntries(
        ALL_METHODS.map((method) => [
          method,
          SERVICE_METHODS.includes(method) ? 'denied' : 'answered',
        ]),
      ),
    );
    // The message the service recorded is in the gateway's answers: the engine served both.
    await expect(api.gateway.getTotalUnreadMsgCount({ userID: 'bob' })).resolves.toEqual({
      total: 1,
    });
    const { conversation } = await api.gateway.pinConversation({
      userID: 'bob',
      conversationID: 'si_alice_bob',
      isPinned: true,
    });
    expect(conversation).toMatchObject({ conversationID: 'si_alice_bob', isPinned: true });
    const { conversations } = await api.gateway.getAllConversationList({ userID: 'bob' });
    expect(conversations.map((c) => [c.conversationID, c.isPinned, c.unreadCount])).toEqual([
      ['si_alice_bob', true, 1],
    ]);
    await expect(
      api.gateway.recordMessage(message({ clientMsgID: 'g1', sendID: 'mallory', recvID: 'bob' })),
    ).rejects.toMatchObject(deniedPublish(`${PREFIX}.recordMessage`));
    // Nor may it write into the callback stream.
    nc.gateway.publish(`${PREFIX}.events.bob.OnNewConversation`, encoder.encode('{}'));
    await expect
      .poll(() => errors.gateway)
      .toContainEqual({ operation: 'publish', subject: `${PREFIX}.events.bob.OnNewConversation` });
  });

  it('a callback consumer reads the callbacks through a durable pull consumer, and may change nothing', async () => {
    const jsm = await nc.callbacks.jetstreamManager();
    await jsm.consumers.add(STREAM, {
      durable_name: 'permissions-reader',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${PREFIX}.events.>`,
    });
    const consumer = await nc.callbacks.jetstream().consumers.get(STREAM, 'permissions-reader');
    const subjects: string[] = [];
    const expected = [
      `${PREFIX}.events.alice.OnNewConversation`,
      `${PREFIX}.events.bob.OnNewConversation`,
      `${PREFIX}.events.bob.OnTotalUnreadMessageCountChanged`,
    ];
    const deadline = Date.now() + 15_000;
    while (!expected.every((subject) => subjects.includes(subject)) && Date.now() < deadline) {
      const msg: JsMsg | null = await consumer.next({ expires: 2000 });
      if (!msg) continue;
      subjects.push(msg.subject);
      // The ack goes to $JS.ACK.<stream>.…: the consumer moves on, or would deliver it again.
      await msg.ackAck();
    }
    expect(subjects).toEqual(expect.arrayContaining(expected));
    expect((await jsm.consumers.info(STREAM, 'permissions-reader')).num_ack_pending).toBe(0);

    await expect(
      api.callbacks.recordMessage(message({ clientMsgID: 'c1', sendID: 'mallory', recvID: 'bob' })),
    ).rejects.toMatchObject(deniedPublish(`${PREFIX}.recordMessage`));
    await expect(api.callbacks.getAllConversationList({ userID: 'bob' })).rejects.toMatchObject(
      deniedPublish(`${PREFIX}.getAllConversationList`),
    );
    await expect(jsm.streams.delete(STREAM)).rejects.toMatchObject(
      deniedPublish(`$JS.API.STREAM.DELETE.${STREAM}`),
    );
    await expect(jsm.streams.purge(STREAM)).rejects.toMatchObject(
      deniedPublish(`$JS.API.STREAM.PURGE.${STREAM}`),
    );
    nc.callbacks.publish(`${PREFIX}.recordMessage`, encoder.encode('{}'));
    nc.callbacks.publish(`${PREFIX}.events.bob.OnNewConversation`, encoder.encode('{}'));
    await expect
      .poll(() => errors.callbacks)
      .toEqual(
        expect.arrayContaining([
          { operation: 'publish', subject: `${PREFIX}.recordMessage` },
          { operation: 'publish', subject: `${PREFIX}.events.bob.OnNewConversation` },
        ]),
      );
    // A subscription beside the stream is refused too: callbacks are read through consumers.
    nc.callbacks.subscribe(`${PREFIX}.events.>`);
    await expect
      .poll(() => errors.callbacks)
      .toContainEqual({ operation: 'subscription', subject: `${PREFIX}.events.>` });
    await jsm.consumers.delete(STREAM, 'permissions-reader');
  });

  it('the engine serves everything under its own user: the stream, sync callbacks, the services API', async () => {
    const info = await (await nc.callbacks.jetstreamManager()).streams.info(STREAM);
    expect(info.config.subjects).toEqual([`${PREFIX}.events.>`]);

    // syncConversations publishes into the stream through JetStream, acked on the engine's inbox.
    await expect(api.gateway.syncConversations({ userID: 'bob' })).resolves.toMatchObject({
      full: true,
    });
    // An ordered consumer too (one filter: a list of them needs NATS 2.10).
    const consumer = await nc.callbacks.jetstream().consumers.get(STREAM, {
      filterSubjects: `${PREFIX}.events.bob.>`,
    });
    const names: string[] = [];
    const deadline = Date.now() + 15_000;
    while (!names.includes('OnSyncServerFinish') && Date.now() < deadline) {
      const msg = await consumer.next({ expires: 2000 });
      if (msg) names.push(msg.subject.split('.').at(-1) ?? '');
    }
    expect(names).toEqual(expect.arrayContaining(['OnSyncServerStart', 'OnSyncServerFinish']));

    const stats = await nc.monitor.request(`$SRV.STATS.conversation-engine`, new Uint8Array(), {
      timeout: 5000,
    });
    expect(stats.json<{ name: string; id: string }>()).toMatchObject({
      name: 'conversation-engine',
      id: engine.service.info().id,
    });
    const ping = await nc.monitor.request('$SRV.PING', new Uint8Array(), { timeout: 5000 });
    expect(ping.json<{ name: string }>().name).toBe('conversation-engine');

    // The server logged every refusal; none was the engine's.
    const refusals = nats
      .log()
      .split('\n')
      .filter((line) => line.includes('Violation'));
    expect(refusals.some((line) => line.includes('User "gateway"'))).toBe(true);
    expect(refusals.filter((line) => line.includes('User "engine"'))).toEqual([]);
    expect(errors.monitor).toEqual([]);
  });
});
