export * from './callback-consumer.ts';
export * from './callback-order.ts';
export * from './conversation-client.ts';
export * from './conversation-error.ts';
