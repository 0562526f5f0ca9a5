export * from './conversation-client.ts';
export * from './conversation-error.ts';
