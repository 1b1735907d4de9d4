import { type Kysely, sql } from 'kysely';

/**
 * rules.invalid_reason: why a saved rule no longer holds as written — today, a merchant rule whose
 * route_to_store names a store connection that has since been retired (set when the store is
 * retired, with a `rule_invalid` alert; cleared when the rule is saved again naming live stores).
 * Null for a valid rule.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table rules add column invalid_reason text`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table rules drop column if exists invalid_reason`.execute(db);
}
