/**
 * Rows → the order as the API answers it, and the loader other capabilities reuse:
 * `loadOrders(db, merchantId, ids)` reads full orders (lines included) in one query.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import { z } from 'zod';
import { ordersById } from '../db/keyed.js';
import { ORDER_STATUSES, type DB, type OrdersTable } from '../db/schema.js';
import { effectiveSchema, type StoredEffective, storedEffectiveView } from '../rules/effective.js';
import { addressView, EMPTY_ADDRESS, type NormalizedItem, type NormalizedOrder } from './types.js';

const str = z.string().nullable();

export const itemView = z
  .object({
    line_item_id: z.number().int().meta({ description: 'our stable line id (ShipStation LineItemID)' }),
    line_id: str,
    sku: str,
    name: str,
    quantity: z.number().int(),
    shipped_quantity: z.number().int(),
    unit_price: z.string(),
    weight: str,
    weight_unit: z.enum(['oz', 'lb', 'g', 'kg']).nullable(),
    image_url: str,
    location: str,
    upc: str,
    options: z.array(z.object({ name: z.string(), value: z.string(), weight: str })),
    adjustment: z.boolean(),
  })
  .meta({ id: 'OrderItem' });

export const orderView = z
  .object({
    id: z.number().int(),
    merchant: z.string(),
    status: z.enum(ORDER_STATUSES),
    held_from: z
      .enum(['await_payment', 'new', 'at_wms'])
      .nullable()
      .meta({ description: 'while on_hold: the status release returns to (null: new)' }),
    order_source: z.string(),
    order_number: z.string(),
    order_date: z.string().meta({ description: 'ISO 8601, UTC' }),
    currency: str,
    tags: z.array(z.string()),
    shipping_method: str,
    payment_method: str,
    order_total: z.string(),
    tax_amount: str,
    shipping_amount: str,
    amount_paid: str,
    customer_notes: str,
    internal_notes: str,
    gift: z.boolean(),
    gift_message: str,
    custom_fields: z.array(z.string()),
    requested_warehouse: str,
    customer: z.object({ code: str, email: str }),
    bill_to: addressView,
    ship_to: addressView,
    items: z.array(itemView),
    effective: effectiveSchema,
    routing: z.object({
      store_id: z.number().int().nullable().meta({ description: 'null when unrouted' }),
      reason: str.meta({ description: 'why the order is routed where it is, or unrouted' }),
      served_store_id: z.number().int().nullable(),
      served_at: z.date().nullable(),
      withheld: str.meta({
        description:
          'why the order is kept out of routing (exported nowhere) until a person releases it, e.g. a pulled order whose number another order has; null: it routes as usual',
      }),
    }),
    last_modified: z.date().meta({ description: "what ShipStation's export window matches" }),
    updated_at: z.date().meta({ description: 'moves on every change; poll with updated_since' }),
    created_at: z.date(),
  })
  .meta({ id: 'Order' });

export type OrderView = z.input<typeof orderView>;
export type ItemView = OrderView['items'][number];

export type OrderRow = Selectable<OrdersTable> & { merchant_code: string };

export interface LineRow {
  id: number;
  order_id: number;
  position: number;
  shipped_quantity: number;
  content: Record<string, unknown>;
}

type Content = Omit<NormalizedOrder, 'items'>;

export function itemToView(line: LineRow): ItemView {
  const c = line.content as unknown as NormalizedItem;
  return {
    line_item_id: line.id,
    line_id: c.line_id ?? null,
    sku: c.sku ?? null,
    name: c.name ?? null,
    quantity: c.quantity,
    shipped_quantity: line.shipped_quantity,
    unit_price: c.unit_price,
    weight: c.weight ?? null,
    weight_unit: c.weight_unit ?? null,
    image_url: c.image_url ?? null,
    location: c.location ?? null,
    upc: c.upc ?? null,
    options: c.options ?? [],
    adjustment: c.adjustment ?? false,
  };
}

/** One order row and its lines (in position order) → the answered order. */
export function orderToView(row: OrderRow, lines: readonly LineRow[]): OrderView {
  const c = row.content as unknown as Content;
  const view: Omit<OrderView, 'effective'> = {
    id: row.id,
    merchant: row.merchant_code,
    status: row.status,
    held_from: row.held_from,
    order_source: row.order_source,
    order_number: row.order_number,
    order_date: c.order_date,
    currency: c.currency ?? null,
    tags: c.tags ?? [],
    shipping_method: c.shipping_method ?? null,
    payment_method: c.payment_method ?? null,
    order_total: c.order_total,
    tax_amount: c.tax_amount ?? null,
    shipping_amount: c.shipping_amount ?? null,
    amount_paid: c.amount_paid ?? null,
    customer_notes: c.customer_notes ?? null,
    internal_notes: c.internal_notes ?? null,
    gift: c.gift ?? false,
    gift_message: c.gift_message ?? null,
    custom_fields: c.custom_fields ?? [],
    requested_warehouse: c.requested_warehouse ?? null,
    customer: { code: c.customer?.code ?? null, email: c.customer?.email ?? null },
    bill_to: { ...EMPTY_ADDRESS, ...c.bill_to },
    ship_to: { ...EMPTY_ADDRESS, ...c.ship_to },
    items: lines.map(itemToView),
    routing: {
      store_id: row.store_id,
      reason: row.routing_reason,
      served_store_id: row.served_store_id,
      served_at: row.served_at,
      withheld: row.withheld,
    },
    last_modified: row.last_modified,
    updated_at: row.updated_at,
    created_at: row.created_at,
  };
  const sent = viewToNormalized(view);
  const effective = storedEffectiveView(
    sent,
    row.effective as StoredEffective | null,
    lines.map((l) => l.id),
  );
  return { ...view, effective };
}

/** The normalised order inside an answered order (what was posted, normalised; never rule output). */
export function viewToNormalized(v: Omit<OrderView, 'effective'> & { effective?: unknown }): NormalizedOrder {
  const {
    effective: _e,
    id: _id,
    merchant: _m,
    status: _s,
    held_from: _h,
    routing: _r,
    last_modified: _l,
    updated_at: _u,
    created_at: _c,
    items,
    ...rest
  } = v;
  return {
    ...rest,
    items: items.map(({ line_item_id: _li, shipped_quantity: _sq, ...it }) => it),
  };
}

/** The orders query every reader starts from: orders with their merchant's code. */
export function ordersWithMerchant(db: Kysely<DB>) {
  return db
    .selectFrom('orders as o')
    .innerJoin('merchants as m', 'm.id', 'o.merchant_id')
    .selectAll('o')
    .select('m.code as merchant_code');
}

/**
 * The lines of the order row `o` (in position order) as a json array of LineRow, for reading
 * orders and their lines in one statement. json (not jsonb): nothing to re-parse on the way out.
 */
export const LINES_OF_O = sql<LineRow[]>`coalesce((
  select json_agg(json_build_object('id', l.id, 'order_id', l.order_id, 'position', l.position,
    'shipped_quantity', l.shipped_quantity, 'content', l.content) order by l.position)
  from order_lines l
  where l.merchant_id = o.merchant_id and l.order_id = o.id), '[]'::json)`;

/** A row of ordersWithMerchant with LINES_OF_O as `lines` → the answered order. */
export function rowWithLinesToView(row: OrderRow & { lines: LineRow[] }): OrderView {
  return orderToView(row, row.lines);
}

/**
 * Full orders (with lines) of one merchant, by id, in one query; answered in the order of `ids`
 * (ids that do not exist for this merchant are left out).
 */
export async function loadOrders(
  db: Kysely<DB>,
  merchantId: number,
  ids: readonly number[],
): Promise<OrderView[]> {
  if (ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const { rows } = await sql<OrderRow & { lines: LineRow[] }>`
    select o.*, m.code as merchant_code, ${LINES_OF_O} as lines
    from ${ordersById(merchantId, unique)}
    join merchants m on m.id = ${merchantId}
  `.execute(db);
  const viewById = new Map<number, OrderView>();
  for (const r of rows) viewById.set(r.id, rowWithLinesToView(r));
  return ids.map((id) => viewById.get(id)).filter((v): v is OrderView => v !== undefined);
}
