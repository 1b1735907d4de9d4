import type { Kysely } from 'kysely';
import { type MigrationProvider, Migrator } from 'kysely/migration';
import { migrations } from '../../migrations/index.js';
import { describeError } from './database.js';

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** The names of all migrations this build knows, in order. */
export const migrationNames = Object.keys(migrations).sort();

/** Brings the database to the latest schema. Safe to run from several instances at once (Kysely locks). */
export async function migrateToLatest<T>(db: Kysely<T>, schema?: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(
      failed
        ? `migration ${failed.migrationName} failed: ${describeError(error)}`
        : `migrations could not start: ${describeError(error)}`,
      { cause: error },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when every known migration has been applied. */
export async function isMigrated<T>(db: Kysely<T>, schema?: string): Promise<boolean> {
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const list = await migrator.getMigrations();
  return list.every((m) => m.executedAt !== undefined);
}
