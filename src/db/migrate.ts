import { type Kysely, sql } from 'kysely';
import { type MigrationProvider, Migrator } from 'kysely/migration';
import { migrations } from '../../migrations/index.js';
import { describeError } from './database.js';

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** The names of all migrations this build knows, in order. */
export const migrationNames = Object.keys(migrations).sort();

/**
 * The migrator, always told which schema its bookkeeping tables live in. Left unset, Kysely asks
 * whether a `kysely_migration_lock` table exists in ANY schema of the database, then uses the one on
 * the search path: a database that also holds another schema with Kysely tables (another
 * application, or a neighbour's test schema) made start-up fail with "relation
 * kysely_migration_lock does not exist".
 */
async function migratorFor<T>(db: Kysely<T>, schema: string | undefined): Promise<Migrator> {
  const where =
    schema ?? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s ?? 'public';
  return new Migrator({ db, provider, migrationTableSchema: where });
}

/** Brings the database to the latest schema. Safe to run from several instances at once (Kysely locks). */
export async function migrateToLatest<T>(db: Kysely<T>, schema?: string): Promise<string[]> {
  const migrator = await migratorFor(db, schema);
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
  const migrator = await migratorFor(db, schema);
  const list = await migrator.getMigrations();
  return list.every((m) => m.executedAt !== undefined);
}
