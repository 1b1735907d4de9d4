import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { createJobRunner } from './background.js';
import { ConfigError, loadConfig } from './config.js';
import { createDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { resolveServerSecret } from './db/server-secret.js';
import { createLogger } from './lib/logger.js';
import { SecretHasher } from './lib/secrets.js';
import { Metrics } from './metrics/metrics.js';
import { recoverStuckNotices, STUCK_NOTICE_SECONDS } from './shipstation/recover-notices.js';

/** Process entry: configuration, database, migrations, listen, graceful close. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`shipbridge: ${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  const pgliteDir =
    config.databaseUrl || config.pgliteInMemory ? undefined : path.join(config.dataDir, 'pgdata');
  const database = await createDatabase({
    url: config.databaseUrl,
    pgliteDir,
    poolSize: config.dbPoolSize,
    preparedStatements: config.dbPreparedStatements,
  });
  const applied = await migrateToLatest(database.db);
  logger.info(
    { engine: database.engine, ...(pgliteDir ? { dataDir: path.resolve(pgliteDir) } : {}), applied },
    'database ready',
  );
  const secret = await resolveServerSecret(
    config.secretKey,
    database,
    pgliteDir ? config.dataDir : undefined,
    logger,
  );
  const hasher = new SecretHasher(secret);
  // One registry for the app and the background jobs: /metrics shows both.
  const metrics = new Metrics(database.poolStats);
  const app = await buildApp({ config, database, hasher, logger, metrics });
  const jobs = createJobRunner(database.db, config, hasher.box, logger, {}, metrics);
  app.addHook('onClose', async () => {
    // A job in flight is finished, or aborted and given back, before the database closes.
    await jobs.stop(config.shutdownGraceMs);
    await database.close();
  });

  closeWithGrace({ delay: config.shutdownGraceMs, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err, code: 'internal' }, 'closing after an error');
    else logger.info({ signal }, 'draining in-flight requests and closing');
    await app.close();
  });

  // Notices a dead process stored but never applied. The embedded database has one process (the
  // DATA_DIR lock), so every `received` notice at start-up is stuck; on PostgreSQL other instances
  // may be applying theirs, so only old ones are taken, here and every minute (a periodic job of the
  // jobs runner, see createJobRunner).
  const recovered = await recoverStuckNotices(database.db, {
    olderThanSeconds: database.engine === 'pglite' ? 0 : STUCK_NOTICE_SECONDS,
  });
  if (recovered.applied + recovered.unmatched > 0) logger.info(recovered, 'finished stuck shipment notices');

  await app.listen({ port: config.port, host: config.host });
  if (config.jobsEnabled) {
    await jobs.ensurePeriodic();
    jobs.start();
  } else logger.info('JOBS_ENABLED=false: this instance runs no background jobs; other instances take them');
  if (!config.adminToken) logger.info('ADMIN_TOKEN is not set: admin routes are off');
}

main().catch((err) => {
  process.stderr.write(`shipbridge: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
