export * from './append.ts';
export * from './append-notice.ts';
export * from './checkpoint.ts';
export * from './database.ts';
export * from './migrations.ts';
export * from './position.ts';
export * from './read.ts';
export type * from './schema.ts';
