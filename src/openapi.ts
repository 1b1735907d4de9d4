import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import type { DB } from './db/schema.js';
import { createLogger } from './lib/logger.js';
import { SecretHasher } from './lib/secrets.js';

/**
 * The OpenAPI document as YAML, generated from the route schemas. Builds the app on a database
 * handle that is never connected (no route runs), with admin routes on so they are documented.
 */
export async function renderOpenApiYaml(): Promise<string> {
  const pool = new pg.Pool({ connectionString: 'postgres://unused@127.0.0.1:1/unused', max: 1 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const app = await buildApp({
    config: loadConfig({ ADMIN_TOKEN: 'documentation-only-token', LOG_LEVEL: 'silent' }),
    database: { db, engine: 'postgres', dataDir: undefined, close: async () => {} },
    hasher: new SecretHasher('documentation-only-secret-key-0000000000'),
    logger: createLogger('silent'),
  });
  await app.ready();
  const yaml = app.swagger({ yaml: true });
  await app.close();
  await db.destroy();
  return yaml;
}
