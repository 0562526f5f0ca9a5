import './provided-context.ts';
import { type Config, createLogger, type Engine, loadConfig, startEngine } from '@im/api';
import { type ConversationClient, createConversationClient } from '@im/client';
import { type ConversationItem, type Method, type RequestOf, replySchemas } from '@im/domain';
import { sql } from 'kysely';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { collectCallbacks, type ReceivedCallback } from './callback-collector.ts';
import { deleteStream } from './streams.ts';

let counter = 0;
const unique = () => `${inject('runId')}_${process.pid}_${++counter}`;

/** A fresh database on the test server; the run's teardown drops it. */
export const createTestDatabase = async (): Promise<string> => {
  const name = unique();
  const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(inject('adminDatabaseUrl'));
  url.pathname = `/${name}`;
  return url.toString();
};

/** Engine configuration private to one test: its own database, subjects and stream. */
export const testConfig = async (overrides: Record<string, string> = {}): Promise<Config> => {
  const id = unique();
  return loadConfig({
    DATABASE_URL: await createTestDatabase(),
    NATS_URL: inject('natsUrl'),
    SUBJECT_PREFIX: `${id}.conversation`,
    STREAM_NAME: `S_${id}`,
    STREAM_MAX_BYTES: String(256 * 1024 * 1024),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    INSTANCE_ID: `test-${id}`,
    ...overrides,
  });
};

/** What a request got back: the error's code and sentence when it failed, and the body. */
export interface Reply {
  /** The Nats-Service-Error-Code, when the request failed. */
  code: number | undefined;
  /** The Nats-Service-Error sentence, when the request failed. */
  error: string | undefined;
  body: any;
}

/** A client of the engine's API, as a gateway or a service would be. */
export interface TestClient {
  nc: NatsConnection;
  /** The typed client of @im/client, every reply checked against its schema. */
  api: ConversationClient;
  /** A typed request; failures come back as a code and a sentence, not as a throw. */
  request<M extends Method>(method: M, body: RequestOf<M>): Promise<Reply>;
  /**
   * Any request, typed or not, as bytes: bad input (the engine must answer whatever comes), and
   * requests chosen at run time. A success of a known method is still checked by its schema.
   */
  raw(method: string, body: unknown): Promise<Reply>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client of the engine's API on a connection of its own. */
export const connectClient = async (config: Config): Promise<TestClient> => {
  const nc = await connect({ servers: config.NATS_URL });
  const api = createConversationClient(nc, {
    subjectPrefix: config.SUBJECT_PREFIX,
    timeoutMs: 30_000,
    checkReplies: true,
  });
  return {
    nc,
    api,
    async request(method, body) {
      const outcome = await api.call(method, body);
      return outcome.ok
        ? { code: undefined, error: undefined, body: outcome.reply }
        : { code: outcome.error.errCode, error: outcome.error.errMsg, body: outcome.error };
    },
    async raw(method, body) {
      const data = typeof body === 'string' ? body : JSON.stringify(body);
      const msg = await nc.request(`${config.SUBJECT_PREFIX}.${method}`, encoder.encode(data), {
        timeout: 30_000,
      });
      const code = msg.headers?.get('Nats-Service-Error-Code');
      const reply: unknown = JSON.parse(decoder.decode(msg.data));
      // A success of a known method is checked like any typed request's.
      if (!code && method in replySchemas) replySchemas[method as Method].parse(reply);
      return {
        code: code ? Number(code) : undefined,
        error: msg.headers?.get('Nats-Service-Error') || undefined,
        body: reply,
      };
    },
    close: () => nc.close(),
  };
};

export interface TestEngine extends TestClient {
  config: Config;
  engine: Engine;
  callbacks: Awaited<ReturnType<typeof collectCallbacks>>;
  /** The owner's listed conversations, in list order. */
  list(userID: string): Promise<ConversationItem[]>;
  total(userID: string): Promise<number>;
  /** How many events the log holds: a failed or no-op request must leave it unchanged. */
  countEvents(): Promise<number>;
  /** This engine's `$SRV.STATS` figures (addressed to its instance: others may share the server). */
  serviceStats(): Promise<any>;
  /** Every callback published before now (see callbacksUntilNow). */
  callbacksUntilNow(): Promise<ReceivedCallback[]>;
  /** Waits until the owner has a callback `name` whose data satisfies `matches`, and returns it. */
  awaitCallback(
    userID: string,
    name: string,
    matches?: (data: any) => boolean,
  ): Promise<ReceivedCallback>;
  stop(): Promise<void>;
}

/** An engine in this process, with a client and a callback collector, on private resources. */
export const startTestEngine = async (
  overrides: Record<string, string> = {},
): Promise<TestEngine> => {
  const config = await testConfig(overrides);
  const engine = await startEngine(config, createLogger({ level: config.LOG_LEVEL }));
  const client = await connectClient(config);
  const callbacks = await collectCallbacks(client.nc, config);
  const t: TestEngine = {
    ...client,
    config,
    engine,
    callbacks,
    list: async (userID) => (await client.api.getAllConversationList({ userID })).conversations,
    total: async (userID) => (await client.api.getTotalUnreadMsgCount({ userID })).total,
    countEvents: () => countEvents(engine.database),
    callbacksUntilNow: () => callbacksUntilNow(t),
    async serviceStats() {
      const reply = await client.nc.request(
        `$SRV.STATS.conversation-engine.${engine.service.info().id}`,
        new Uint8Array(),
        { timeout: 5000 },
      );
      return reply.json<{ endpoints: Array<{ data: unknown }> }>().endpoints[0]?.data;
    },
    awaitCallback: (userID, name, matches = () => true) => awaitCallback(t, userID, name, matches),
    async stop() {
      await callbacks.stop();
      await engine.stop();
      await deleteStream(client.nc, config.STREAM_NAME);
      await client.close();
    },
  };
  return t;
};

/**
 * An engine for the enclosing describe block: started before its tests, stopped after them.
 * The object it returns is filled in when the engine has started.
 */
export const useTestEngine = (overrides: Record<string, string> = {}): TestEngine => {
  const handle = {} as TestEngine;
  beforeAll(async () => {
    Object.assign(handle, await startTestEngine(overrides));
  });
  afterAll(() => handle.stop());
  return handle;
};

/** A recordMessage request: a single chat, or a group one when `groupID` is given. */
export const message = (fields: {
  clientMsgID: string;
  sendID: string;
  recvID?: string;
  groupID?: string;
  sessionType?: 1 | 3 | 4;
  sendTime?: number;
  content?: string;
  contentType?: number;
  atUserIDList?: string[];
}): RequestOf<'recordMessage'> => ({
  sessionType: fields.groupID ? 3 : 1,
  contentType: 101,
  content: 'hello',
  sendTime: 1_700_000_000_000,
  ...fields,
});

const countEvents = async (database: Engine['database']): Promise<number> => {
  const result = await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(
    database.db,
  );
  return Number(result.rows[0]?.n);
};

let markers = 0;

/**
 * Every callback published before now. The publisher follows one outbox in order, so once a
 * marker change made now has been received, everything due before it has been too: this is how
 * a test proves that a request published nothing, without waiting on a clock.
 */
const callbacksUntilNow = async (t: TestEngine): Promise<ReceivedCallback[]> => {
  const marker = `marker-${process.pid}-${++markers}`;
  await t.api.recordMessage(
    message({ clientMsgID: marker, sendID: marker, recvID: `${marker}-to` }),
  );
  const isMarker = (c: ReceivedCallback) => c.userID === marker || c.userID === `${marker}-to`;
  const all = await t.callbacks.until((received) => received.some(isMarker));
  return all.slice(0, all.findIndex(isMarker));
};

/** One owner's callbacks, in the order they arrived, optionally of one kind. */
export const callbacksFor = (
  all: readonly ReceivedCallback[],
  userID: string,
  name?: string,
): ReceivedCallback[] => all.filter((c) => c.userID === userID && (!name || c.name === name));

const awaitCallback = async (
  t: TestEngine,
  userID: string,
  name: string,
  matches: (data: unknown) => boolean,
): Promise<ReceivedCallback> => {
  const found = (all: readonly ReceivedCallback[]) =>
    callbacksFor(all, userID, name).find((c) => matches(c.data));
  return found(await t.callbacks.until((all) => found(all) !== undefined)) as ReceivedCallback;
};

/** The conversationIDs of a list, in its order. */
export const conversationIDs = (items: ReadonlyArray<{ conversationID: string }>): string[] =>
  items.map((item) => item.conversationID);

/** The item's latest message, parsed; null when there is no item. */
export const latestMsgOf = (item: { latestMsg: string } | undefined) =>
  JSON.parse(item?.latestMsg || 'null');

/**
 * Things to undo after the enclosing describe block, last first, each whatever the others do:
 * push a step as soon as the thing it undoes exists.
 */
export const useCleanup = () => {
  const steps: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of steps.reverse()) await step().catch(() => {});
  });
  return (step: () => Promise<unknown>) => {
    steps.push(step);
  };
};

/** Records a message, which the engine must accept. */
export const sendMessage = async (
  t: TestEngine,
  clientMsgID: string,
  fields: { sendID: string; recvID?: string; groupID?: string; atUserIDList?: string[] },
) => {
  const reply = await t.request('recordMessage', message({ clientMsgID, ...fields }));
  expect(reply.code).toBeUndefined();
};

/** The total is what the owner's badge shows: the callback carrying it must arrive too. */
export const expectTotal = async (t: TestEngine, owner: string, total: number) => {
  expect(await t.total(owner)).toBe(total);
  await t.awaitCallback(owner, 'OnTotalUnreadMessageCountChanged', (data) => data === total);
};
