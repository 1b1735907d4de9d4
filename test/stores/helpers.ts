import { type Kysely, sql } from 'kysely';
import type { DB, OrderStatus } from '../../src/db/schema.js';

let counter = 0;

export interface TestOrder {
  order_source?: string;
  tags?: string[];
  status?: OrderStatus;
  order_number?: string;
}

/** Inserts orders straight into the table (no routing), as the orders API would before calling routeOrders. */
export async function insertOrders(
  db: Kysely<DB>,
  merchantId: number,
  orders: TestOrder[],
): Promise<number[]> {
  if (orders.length === 0) return [];
  const rows = await db
    .insertInto('orders')
    .values(
      orders.map((o) => ({
        merchant_id: merchantId,
        order_source: o.order_source ?? 'api',
        order_number: o.order_number ?? `T-${++counter}`,
        status: o.status ?? 'new',
        order_date: new Date('2026-11-01T00:00:00Z'),
        tags: o.tags ?? [],
        order_total: '10.00',
        content: '{}',
        content_hash: 'x',
      })),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function merchantId(db: Kysely<DB>, code: string): Promise<number> {
  const m = await db.selectFrom('merchants').select('id').where('code', '=', code).executeTakeFirstOrThrow();
  return m.id;
}

export interface RoutingState {
  id: number;
  store_id: number | null;
  routing_reason: string | null;
  served_store_id: number | null;
  status: OrderStatus;
  last_modified: Date;
  updated_at: Date;
}

export async function routingOf(db: Kysely<DB>, id: number): Promise<RoutingState> {
  return db
    .selectFrom('orders')
    .select(['id', 'store_id', 'routing_reason', 'served_store_id', 'status', 'last_modified', 'updated_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

/** Simulates the export pinning an order to the store it is routed to. */
export async function pin(db: Kysely<DB>, id: number): Promise<void> {
  await sql`update orders set served_store_id = store_id, served_at = now() where id = ${id}`.execute(db);
}

export async function routedEvents(db: Kysely<DB>, orderId: number) {
  return db
    .selectFrom('order_events')
    .select(['type', 'actor_type', 'actor', 'data'])
    .where('order_id', '=', orderId)
    .where('type', '=', 'routed')
    .orderBy('id')
    .execute();
}
