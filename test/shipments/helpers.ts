import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DB, OrderStatus } from '../../src/db/schema.js';
import { basic, buildTestApp, seedAccounts } from '../helpers/app.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Who {
  code: string;
  auth: { authorization: string };
}

export interface StoreConn {
  id: number;
  username: string;
  password: string;
  auth: { authorization: string };
}

export interface SeededOrder {
  id: number;
  order_number: string;
  /** our line ids (line_item_id), by position */
  lines: number[];
}

export interface ItemInput {
  sku: string;
  quantity: number;
  line_id?: string;
  adjustment?: boolean;
  unit_price?: number | string;
}

let seq = 0;

/** The app with a warehouse merchant (m1) and a standalone merchant (solo), each with one store. */
export async function setup(t: Teardown) {
  const ta = await buildTestApp(t);
  const accounts = await seedAccounts(ta.app, `sh${process.pid % 10000}`);
  return { ...ta, testDb: ta.db, db: ta.db.db, ...accounts };
}

export async function createStore(
  app: FastifyInstance,
  who: Who,
  body: Record<string, unknown> = {},
): Promise<StoreConn> {
  seq += 1;
  const r = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${who.code}/stores`,
    headers: who.auth,
    payload: { name: `Store ${seq}`, ...body },
  });
  if (r.statusCode !== 201) throw new Error(`store: ${r.statusCode} ${r.body}`);
  const j = r.json();
  return {
    id: j.store.id,
    username: j.shipstation.username,
    password: j.shipstation.password,
    auth: basic(j.shipstation.username, j.shipstation.password),
  };
}

/** The address every test order ships to. */
export const SHIP_TO = {
  name: 'Jane Doe',
  street1: '1 Elm St',
  city: 'Springfield',
  state: 'IL',
  postal_code: '62704',
  country: 'US',
};

export interface OrderInput {
  number?: string;
  source?: string;
  status?: 'new' | 'await_payment' | 'on_hold';
  items?: ItemInput[];
  /** Further fields of the order as the API takes them (currency, order_total, …). */
  fields?: Record<string, unknown>;
}

/** The body of an order for the orders API (POST, or PUT of the same order). */
export function orderPayload(opts: OrderInput = {}): Record<string, unknown> {
  seq += 1;
  const items = opts.items ?? [
    { sku: 'MUG', quantity: 2 },
    { sku: 'TEA', quantity: 1 },
  ];
  return {
    order_number: opts.number ?? `R-${seq}`,
    ...(opts.source ? { order_source: opts.source } : {}),
    ...(opts.status ? { status: opts.status } : {}),
    order_date: '2026-11-20T10:00:00Z',
    ship_to: SHIP_TO,
    items: items.map((it, i) => ({
      line_id: it.line_id ?? `ln-${i + 1}`,
      sku: it.sku,
      name: `Item ${it.sku}`,
      quantity: it.quantity,
      unit_price: it.unit_price ?? (it.adjustment ? -1 : 5),
      ...(it.adjustment ? { adjustment: true } : {}),
    })),
    ...opts.fields,
  };
}

/** An order through the orders API. */
export async function createOrder(
  app: FastifyInstance,
  who: Who,
  opts: OrderInput = {},
): Promise<SeededOrder> {
  const r = await app.inject({
    method: 'POST',
    url: `/v1/merchants/${who.code}/orders`,
    headers: who.auth,
    payload: orderPayload(opts),
  });
  if (r.statusCode !== 201) throw new Error(`order: ${r.statusCode} ${r.body}`);
  const o = r.json();
  return {
    id: o.id,
    order_number: o.order_number,
    lines: o.items.map((i: { line_item_id: number }) => i.line_item_id),
  };
}

/** Pins an order to a store as an export page would (served_store_id; new → at_wms). */
export async function serve(db: Kysely<DB>, orderId: number, storeId: number): Promise<void> {
  await sql`
    update orders set store_id = ${storeId}, served_store_id = ${storeId}, served_at = now(),
      status = case when status = 'new' then 'at_wms' else status end
    where id = ${orderId}
  `.execute(db);
}

/** Sets an order's status directly (for states the REST API reaches in several steps). */
export async function setStatus(db: Kysely<DB>, orderId: number, status: OrderStatus): Promise<void> {
  await db.updateTable('orders').set({ status }).where('id', '=', orderId).execute();
}

export interface NoticeXml {
  orderId?: number | string;
  orderNumber?: string;
  tracking?: string;
  carrier?: string;
  service?: string;
  labelDate?: string;
  shipDate?: string;
  cost?: string;
  notify?: boolean;
  items?: { lineItemId?: number | string; sku?: string; quantity: number; name?: string }[];
}

export function noticeXml(n: NoticeXml): string {
  const el = (name: string, v: unknown) => (v === undefined ? '' : `  <${name}>${String(v)}</${name}>\n`);
  const items =
    n.items === undefined
      ? ''
      : `  <Items>\n${n.items
          .map(
            (i) =>
              `    <Item>${i.sku !== undefined ? `<SKU>${i.sku}</SKU>` : ''}<Name>${i.name ?? 'thing'}</Name>` +
              `<Quantity>${i.quantity}</Quantity>` +
              `${i.lineItemId !== undefined ? `<LineItemID>${i.lineItemId}</LineItemID>` : ''}</Item>\n`,
          )
          .join('')}  </Items>\n`;
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<ShipNotice>\n' +
    el('OrderID', n.orderId) +
    el('OrderNumber', n.orderNumber) +
    el('NotifyCustomer', n.notify === undefined ? undefined : String(n.notify)) +
    el('LabelCreateDate', n.labelDate ?? '07/15/2025 16:20') +
    el('ShipDate', n.shipDate ?? '07/16/2025') +
    el('Carrier', n.carrier ?? 'UPS') +
    el('Service', n.service ?? 'UPS Ground') +
    el('TrackingNumber', n.tracking) +
    el('ShippingCost', n.cost ?? '9.12') +
    items +
    '</ShipNotice>\n'
  );
}

/** POST /shipstation?action=shipnotify as ShipStation sends it. */
export function notify(
  app: FastifyInstance,
  store: StoreConn,
  opts: {
    query?: Record<string, string>;
    body?: string;
    contentType?: string;
    credentialsInQuery?: boolean;
  } = {},
) {
  const params = new URLSearchParams({ action: 'shipnotify', ...(opts.query ?? {}) });
  if (opts.credentialsInQuery) {
    params.set('SS-UserName', store.username);
    params.set('SS-Password', store.password);
  }
  const headers: Record<string, string> = opts.credentialsInQuery ? {} : { ...store.auth };
  if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
  else if (opts.body !== undefined) headers['content-type'] = 'text/xml';
  return app.inject({
    method: 'POST',
    url: `/shipstation?${params.toString()}`,
    headers,
    ...(opts.body !== undefined ? { payload: opts.body } : {}),
  });
}

export async function orderRow(db: Kysely<DB>, id: number) {
  return db
    .selectFrom('orders')
    .select(['id', 'status', 'held_from', 'last_modified', 'updated_at', 'served_store_id'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

export async function shippedOf(db: Kysely<DB>, orderId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('order_lines')
    .select('shipped_quantity')
    .where('order_id', '=', orderId)
    .orderBy('position')
    .execute();
  return rows.map((r) => r.shipped_quantity);
}

export async function shipmentsOf(db: Kysely<DB>, orderId: number) {
  return db.selectFrom('shipments').selectAll().where('order_id', '=', orderId).orderBy('id').execute();
}

export async function alertsOf(db: Kysely<DB>, orderId: number) {
  return db.selectFrom('alerts').selectAll().where('order_id', '=', orderId).orderBy('id').execute();
}

export async function noticeRow(db: Kysely<DB>, id: number) {
  return db.selectFrom('ship_notices').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function lastNotice(db: Kysely<DB>) {
  return db.selectFrom('ship_notices').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
}

export async function eventsOf(db: Kysely<DB>, orderId: number) {
  return db.selectFrom('order_events').selectAll().where('order_id', '=', orderId).orderBy('id').execute();
}
