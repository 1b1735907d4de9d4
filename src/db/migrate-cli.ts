import { ConfigError, loadConfig } from '../config.js';
import { createDatabase } from './database.js';
import { migrateToLatest } from './migrate.js';
import path from 'node:path';

/** `npm run migrate`: brings the configured database to the latest schema and exits. */
try {
  const config = loadConfig();
  const database = await createDatabase({
    url: config.databaseUrl,
    pgliteDir: config.databaseUrl || config.pgliteInMemory ? undefined : path.join(config.dataDir, 'pgdata'),
  });
  try {
    const applied = await migrateToLatest(database.db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
  } finally {
    await database.close();
  }
} catch (e) {
  process.stderr.write(`shipbridge migrate: ${e instanceof ConfigError ? e.message : String(e)}\n`);
  process.exit(1);
}
