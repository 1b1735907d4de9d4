import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { generateSecret } from '../lib/secrets.js';
import type { Database } from './database.js';

/**
 * The key every issued secret is HMAC'd with. SECRET_KEY when set; otherwise generated once and kept:
 * beside the embedded database (DATA_DIR/secret.key), or in PostgreSQL's server_settings so that
 * every instance sharing the database agrees. In-memory PGlite gets a per-process key.
 */
export async function resolveServerSecret(
  configured: string | undefined,
  database: Database,
  dataDir: string | undefined,
  logger: Logger,
): Promise<string> {
  if (configured) return configured;
  if (database.engine === 'pglite') {
    if (!dataDir) return generateSecret(32);
    const file = path.join(dataDir, 'secret.key');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    mkdirSync(dataDir, { recursive: true });
    const secret = generateSecret(32);
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    logger.info({ file }, 'generated SECRET_KEY beside the embedded database');
    return secret;
  }
  await database.db
    .insertInto('server_settings')
    .values({ key: 'secret_key', value: generateSecret(32) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await database.db
    .selectFrom('server_settings')
    .select('value')
    .where('key', '=', 'secret_key')
    .executeTakeFirstOrThrow();
  logger.warn(
    'SECRET_KEY is not set: using the key generated and kept in the database; set SECRET_KEY in production',
  );
  return row.value;
}
