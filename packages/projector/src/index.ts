export * from './callbacks/publisher.ts';
export * from './callbacks/stream.ts';
export * from './logger.ts';
export * from './projection/apply-batch.ts';
export * from './projection/lease.ts';
export * from './projection/projector.ts';
export * from './projection/watcher.ts';
export * from './read-model/migrations.ts';
export * as readModel from './read-model/queries.ts';
