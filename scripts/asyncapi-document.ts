import { SERVICE_NAME, SERVICE_VERSION } from '@im/api';
import {
  callbackBodySchema,
  callbackDataSchemas,
  conversationGroupItemSchema,
  conversationItemSchema,
  errorReplySchema,
  replySchemas,
  requestSchemas,
} from '@im/domain';
import { stringify } from 'yaml';
import { z } from 'zod';

type Json = Record<string, unknown>;

/** Addresses show the default SUBJECT_PREFIX: an AsyncAPI address is a fixed string. */
const PREFIX = 'im.conversation';

const methods = Object.keys(requestSchemas) as Array<keyof typeof requestSchemas>;
const callbacks = Object.keys(callbackDataSchemas) as Array<keyof typeof callbackDataSchemas>;

const ref = (path: string) => ({ $ref: `#/${path}` });

/**
 * JSON Schemas (draft-07, AsyncAPI's default schema format) for `components.schemas`, converted
 * together so the shared items become `$ref`s instead of being inlined dozens of times.
 * `unrepresentable` stays at its default, throw: a zod type JSON Schema cannot say (a transform, a
 * date) should fail the generator, not turn silently into "anything". Refinements (ID shapes, byte
 * limits, the requests' storable-text check) have no JSON Schema form and are left out.
 */
const toSchemas = (entries: Array<[string, z.ZodType]>, io: 'input' | 'output'): Json => {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) {
    // A registry keys by object and several methods answer the same one: a clone names each
    // repeat. Only repeats: the shared items must stay the objects the replies hold to be $refs.
    registry.add(registry.has(schema) ? schema.clone() : schema, { id });
  }
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-07',
    io,
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _draft, $id: _id, ...schema }]) => [id, schema]),
  );
};

const natsHeaders = (properties: Json, required: string[]): Json => ({
  type: 'object',
  properties,
  required,
});

/** The schemas of every request, reply and callback body, by name. */
const componentSchemas = (): Json => ({
  ...toSchemas(
    methods.map((method) => [`${method}Request`, requestSchemas[method]]),
    'input',
  ),
  ...toSchemas(
    [
      ['ConversationItem', conversationItemSchema],
      ['ConversationGroupItem', conversationGroupItemSchema],
      ...methods.map((method): [string, z.ZodType] => [`${method}Reply`, replySchemas[method]]),
      ['ErrorReply', errorReplySchema],
      ...callbacks.map((name): [string, z.ZodType] => [
        `${name}Callback`,
        callbackBodySchema.extend({ data: callbackDataSchemas[name] }),
      ]),
    ],
    'output',
  ),
});

/** The channels, operations and messages the document lists, filled method by method. */
interface Surface {
  channels: Json;
  operations: Json;
  messages: Json;
}

/** A method's request and reply messages, its channels and its request-reply operation. */
const addMethod = ({ channels, operations, messages }: Surface, method: string) => {
  messages[`${method}Request`] = {
    name: `${method}Request`,
    summary: `The request of ${method}.`,
    payload: ref(`components/schemas/${method}Request`),
  };
  messages[`${method}Reply`] = {
    name: `${method}Reply`,
    summary: `What ${method} answers when it succeeds.`,
    payload: ref(`components/schemas/${method}Reply`),
  };
  channels[method] = {
    address: `${PREFIX}.${method}`,
    messages: { [`${method}Request`]: ref(`components/messages/${method}Request`) },
  };
  channels[`${method}Reply`] = {
    // NATS request-reply answers on the requester's inbox, a subject only the request knows.
    address: null,
    description: `The requester's reply subject (inbox) for ${method}.`,
    messages: {
      [`${method}Reply`]: ref(`components/messages/${method}Reply`),
      ErrorReply: ref('components/messages/ErrorReply'),
    },
  };
  operations[method] = {
    action: 'receive',
    channel: ref(`channels/${method}`),
    summary: `Request-reply: ${method}.`,
    messages: [ref(`channels/${method}/messages/${method}Request`)],
    reply: {
      channel: ref(`channels/${method}Reply`),
      messages: [
        ref(`channels/${method}Reply/messages/${method}Reply`),
        ref(`channels/${method}Reply/messages/ErrorReply`),
      ],
    },
    bindings: { nats: { queue: SERVICE_NAME, bindingVersion: '0.1.0' } },
  };
};

/** Any failed request, as the NATS services error convention answers it. */
const errorReply = (): Json => ({
  name: 'ErrorReply',
  summary: 'Any failed request (the NATS services error convention); it changed nothing.',
  headers: natsHeaders(
    {
      'Nats-Service-Error-Code': {
        type: 'string',
        // SPEC §4's codes; the engine answers no others.
        enum: ['400', '404', '409', '413', '500', '503'],
        description:
          '400 bad input, 404 unknown conversation, 409 conflict, 413 too large, 500 internal, 503 storage unavailable.',
      },
      'Nats-Service-Error': {
        type: 'string',
        description: 'A sentence naming the field and the problem.',
      },
    },
    ['Nats-Service-Error-Code', 'Nats-Service-Error'],
  ),
  payload: ref('components/schemas/ErrorReply'),
});

/** A callback's message, the owner's subject it is published on, and the operation. */
const addCallback = ({ channels, operations, messages }: Surface, name: string) => {
  messages[name] = {
    name,
    summary: `The ${name} callback: {userID, version, data}.`,
    headers: natsHeaders(
      {
        'Nats-Msg-Id': {
          type: 'string',
          description:
            'Unique to (owner, version, callback), or to the sync request for the sync callbacks: JetStream drops a re-publish.',
        },
      },
      ['Nats-Msg-Id'],
    ),
    payload: ref(`components/schemas/${name}Callback`),
  };
  channels[name] = {
    address: `${PREFIX}.events.{userID}.${name}`,
    description: 'On the JetStream stream IM_CONVERSATION_EVENTS (STREAM_NAME).',
    parameters: { userID: ref('components/parameters/userID') },
    messages: { [name]: ref(`components/messages/${name}`) },
  };
  operations[name] = {
    action: 'send',
    channel: ref(`channels/${name}`),
    summary: `Publishes ${name} to the owner's subject.`,
    messages: [ref(`channels/${name}/messages/${name}`)],
  };
};

/** The AsyncAPI 3.0.0 document of the engine's NATS surface, built from the zod schemas. */
export const asyncApiDocument = (): Json => {
  const schemas = componentSchemas();
  const surface: Surface = { channels: {}, operations: {}, messages: {} };
  const { channels, operations, messages } = surface;
  for (const method of methods) addMethod(surface, method);
  messages.ErrorReply = errorReply();
  for (const name of callbacks) addCallback(surface, name);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Conversation engine',
      version: SERVICE_VERSION,
      description: [
        `The NATS micro service \`${SERVICE_NAME}\` (queue group \`${SERVICE_NAME}\`) and the callbacks it publishes, as docs/spec.md sections 4, 5 and 8 give them.`,
        `Subjects use the default SUBJECT_PREFIX \`${PREFIX}\`.`,
        'Generated from the zod schemas by `pnpm run docs` (scripts/asyncapi.ts): do not edit by hand.',
      ].join(' '),
    },
    servers: {
      local: {
        host: '127.0.0.1:4222',
        protocol: 'nats',
        description: 'The default NATS_URL.',
      },
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: {
      schemas,
      messages,
      parameters: {
        userID: { description: "The owner whose conversations changed (the callback's userID)." },
      },
    },
  };
};

/** The document as written to docs/asyncapi.yaml. */
export const asyncApiYaml = (): string =>
  `# Generated by scripts/asyncapi.ts (pnpm run docs) from the zod schemas. Do not edit.\n${stringify(
    asyncApiDocument(),
    // No anchors for repeated objects, and no line folding: plain, diff-friendly YAML.
    { aliasDuplicateObjects: false, lineWidth: 0 },
  )}`;
