import type { ApiClient } from './api-client.ts';
import type { BenchDatabase } from './bench-database.ts';
import type { Plan } from './plan.ts';

/** What every measurement gets: the plan, a client of the running engine, and where it runs. */
export interface BenchContext {
  plan: Plan;
  api: ApiClient;
  database: BenchDatabase;
  /** The PostgreSQL server's admin URL, for databases of a measurement's own. */
  adminUrl: string;
  natsUrl: string;
  subjectPrefix: string;
  /** A line printed under the table: sizes, loading rates, what a figure stands on. */
  note(line: string): void;
  /** A line of progress while the bench runs. */
  progress(line: string): void;
}

/** Subject of an owner's callback, as the engine publishes it (SPEC §5); `*` matches any. */
export const callbackSubject = (context: BenchContext, userID: string, callback: string) =>
  `${context.subjectPrefix}.events.${userID}.${callback}`;
