import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from './db/schema.js';
import { JobRunner, type RunnerOptions } from './jobs/runner.js';

/**
 * Every kind of background work this service runs, registered on one runner. Started by server.ts
 * (tests build their own runner and drive its clock).
 */
export function createJobRunner(db: Kysely<DB>, logger: Logger, opts: RunnerOptions = {}): JobRunner {
  const runner = new JobRunner(db, { logger, ...opts });
  return runner;
}
