import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type Config, DEFAULT_SHIPSTATION_API_URL } from './config.js';
import type { DB } from './db/schema.js';
import { JobRunner, type RunnerOptions } from './jobs/runner.js';
import type { SecretBox } from './lib/secrets.js';
import type { Metrics } from './metrics/metrics.js';
import { reevaluationJob } from './rules/reevaluate-job.js';
import { noticeRecoveryJob } from './shipstation/recover-notices.js';
import { sourceJobHandlers } from './sources/jobs.js';
import { webhookJobHandlers } from './webhooks/delivery.js';
import { WebhooksRepository } from './webhooks/repository.js';

/**
 * Every kind of background work this service runs, registered on one runner. Started by server.ts
 * (tests build their own runner and drive its clock).
 */
export function createJobRunner(
  db: Kysely<DB>,
  config: Pick<Config, 'webhookAllowPrivate'> & Partial<Pick<Config, 'shipstationApiUrl'>>,
  box: SecretBox,
  logger: Logger | undefined,
  opts: RunnerOptions = {},
  metrics?: Metrics,
): JobRunner {
  const runner = new JobRunner(db, { logger, ...opts });
  const clock = runner.clock;
  const webhooks = new WebhooksRepository(db, box, config.webhookAllowPrivate, clock);
  for (const h of webhookJobHandlers({ db, webhooks, allowPrivate: config.webhookAllowPrivate, metrics }))
    runner.register(h);
  runner.register(noticeRecoveryJob(db, logger));
  for (const h of sourceJobHandlers({
    db,
    box,
    apiUrl: config.shipstationApiUrl ?? DEFAULT_SHIPSTATION_API_URL,
    logger,
    metrics,
  }))
    runner.register(h);
  runner.register(reevaluationJob(db));
  return runner;
}
