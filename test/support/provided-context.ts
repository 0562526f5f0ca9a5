import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL URL whose user may create databases. */
    adminDatabaseUrl: string;
    natsUrl: string;
    /** Unique to this run: prefixes every database, subject and stream name it makes. */
    runId: string;
  }
}
