import { type Kysely, sql } from 'kysely';

/**
 * What a source connection keeps back, stored rather than dropped.
 *
 * - orders.withheld: why an order is kept out of routing until a person releases it (null: it routes
 *   as usual). A pulled order whose number another order of the source already has, or a split or
 *   merged child of orders already pulled, is stored withheld: exported nowhere, and never matched
 *   by number to a shipment notice, until released.
 * - source_orders.order_number: ShipStation's orderNumber as last seen (refused orders have no order
 *   here to read it from); source_orders.details: the validation details of a refused order, as the
 *   API answers them ([{path, message}]).
 * - source_orders_state_idx: a source's refused and held orders, listed without walking the taken ones.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table orders add column withheld text`.execute(db);
  await sql`alter table source_orders add column order_number text, add column details jsonb`.execute(db);
  await sql`create index source_orders_state_idx on source_orders (source_id, state, ss_order_id)`.execute(
    db,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists source_orders_state_idx`.execute(db);
  await sql`alter table source_orders drop column if exists order_number, drop column if exists details`.execute(
    db,
  );
  await sql`alter table orders drop column if exists withheld`.execute(db);
}
