import { type Kysely, sql } from 'kysely';

/**
 * Two structures that every hot write paid for and nothing needed (found by the 1 M-order bench):
 *
 * - order_lines_order_idx on (merchant_id, order_id, position) is the very index the unique
 *   constraint (merchant_id, order_id, position) already builds: every line inserted was written
 *   into two identical B-trees.
 * - The foreign key (merchant_id, served_store_id) → stores is implied by the check
 *   `served_store_id is null or served_store_id = store_id` together with the foreign key
 *   (merchant_id, store_id) → stores; its trigger ran once per order pinned by an export page.
 * - The foreign key order_events → orders: events are history, appended only by statements that
 *   have just inserted or locked their order, and orders are never deleted; its trigger ran once
 *   per event (100 per export page of 100, 7 % of the page's statement at 1 M orders).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists order_lines_order_idx`.execute(db);
  await sql`alter table orders drop constraint if exists orders_merchant_id_served_store_id_fkey`.execute(db);
  await sql`alter table order_events drop constraint if exists order_events_merchant_id_order_id_fkey`.execute(
    db,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table order_events add foreign key (merchant_id, order_id) references orders(merchant_id, id)
    on delete cascade`.execute(db);
  await sql`alter table orders add foreign key (merchant_id, served_store_id) references stores(merchant_id, id)`.execute(
    db,
  );
  await sql`create index order_lines_order_idx on order_lines (merchant_id, order_id, position)`.execute(db);
}
