import { type Kysely, sql } from 'kysely';

/**
 * Account management and order summaries.
 *
 * - merchants.disabled_at: a disabled merchant keeps every row; its credentials stop signing in and
 *   its stores export empty pages until it is enabled again (null = enabled).
 * - merchants.normalise_addresses: the per-merchant address tidying switch (default on).
 * - order_events_shipped_idx: summaries by ship date find the orders that became shipped in a
 *   period from their 'shipped' events. Partial, so ingestion (whose events are never 'shipped')
 *   pays nothing for it.
 * - orders_created_idx: summaries by creation date read the orders of a period. It leads with
 *   created_at, not merchant_id: an index that leads with the merchant alone looks as cheap as the
 *   primary key to a planner with stale statistics, and listing would then read the merchant's
 *   orders wholesale (test/foundation/plans.test.ts).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table merchants add column disabled_at timestamptz`.execute(db);
  await sql`alter table merchants add column normalise_addresses boolean not null default true`.execute(db);
  await sql`create index order_events_shipped_idx on order_events (merchant_id, at) where to_status = 'shipped'`.execute(
    db,
  );
  await sql`create index orders_created_idx on orders (created_at, merchant_id)`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists orders_created_idx`.execute(db);
  await sql`drop index if exists order_events_shipped_idx`.execute(db);
  await sql`alter table merchants drop column normalise_addresses`.execute(db);
  await sql`alter table merchants drop column disabled_at`.execute(db);
}
