export * from './config.ts';
export * from './engine.ts';
export * from './logger.ts';
export * from './migrate.ts';
export * from './service.ts';
