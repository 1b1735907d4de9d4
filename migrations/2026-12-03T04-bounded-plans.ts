import { type Kysely, sql } from 'kysely';

/**
 * Indexes that keep every hot statement bounded by the rows it touches, whatever the statistics.
 *
 * On a table analysed before a burst (or a merchant that onboarded after the last ANALYZE), the
 * planner believes `merchant_id = N` matches about one row. Any index that LEADS with merchant_id then
 * looks as cheap as the right one for a lookup by id or by order number, and the planner may pick it
 * and filter the merchant's whole order list (the routing statement of every batch did exactly that).
 * So on orders only the primary key (merchant_id, id) leads with the merchant alone; every other index
 * leads with what its statements filter on, or only applies to the statements that filter on it:
 *
 * - the (merchant, order_source, order_number) key becomes (order_number, order_source, merchant_id):
 *   same uniqueness (ON CONFLICT names the columns, not their order), and it also serves the shipment
 *   notices' lookup by number, so orders_number_idx (merchant_id, order_number) goes: one B-tree less
 *   per order written;
 * - the status listing index leads with the status;
 * - the updated_at listing index keeps (merchant_id, updated_at, id) but only for statements that
 *   constrain updated_at (a partial index on a NOT NULL column: every row is in it, and the planner
 *   can only use it when the statement's own condition on updated_at implies the predicate).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table orders add constraint orders_number_source_merchant_key
    unique (order_number, order_source, merchant_id)`.execute(db);
  await sql`alter table orders drop constraint orders_merchant_id_order_source_order_number_key`.execute(db);
  await sql`drop index orders_number_idx`.execute(db);
  await sql`drop index orders_status_idx`.execute(db);
  await sql`create index orders_status_idx on orders (status, merchant_id, id)`.execute(db);
  await sql`drop index orders_updated_idx`.execute(db);
  await sql`create index orders_updated_idx on orders (merchant_id, updated_at, id) where updated_at is not null`.execute(
    db,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index orders_updated_idx`.execute(db);
  await sql`create index orders_updated_idx on orders (merchant_id, updated_at, id)`.execute(db);
  await sql`drop index orders_status_idx`.execute(db);
  await sql`create index orders_status_idx on orders (merchant_id, status, id)`.execute(db);
  await sql`create index orders_number_idx on orders (merchant_id, order_number)`.execute(db);
  await sql`alter table orders add constraint orders_merchant_id_order_source_order_number_key
    unique (merchant_id, order_source, order_number)`.execute(db);
  await sql`alter table orders drop constraint orders_number_source_merchant_key`.execute(db);
}
