import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import type { DB, OrderStatus } from '../../src/db/schema.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import type { NormalizedItem, NormalizedOrder } from '../../src/orders/types.js';

/** The same server secret as test/helpers/app.ts, so hashes written here verify in the app. */
export const hasher = new SecretHasher('test-secret-key-0123456789abcdef0123456789');

export async function merchantId(db: Kysely<DB>, code: string): Promise<number> {
  const row = await db
    .selectFrom('merchants')
    .select('id')
    .where('code', '=', code)
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface SeededStore {
  id: number;
  merchantId: number;
  username: string;
  password: string;
}

let storeSeq = 0;

/** A store connection written directly (the stores API is another helper's). */
export async function seedStore(
  db: Kysely<DB>,
  merchant: number,
  opts: {
    username?: string;
    password?: string;
    page_size?: number;
    timezone?: string;
    lookback_minutes?: number;
    order_number_prefix?: string;
    retired?: boolean;
  } = {},
): Promise<SeededStore> {
  storeSeq += 1;
  const username = opts.username ?? `ss_${process.pid}_${storeSeq}`;
  const password = opts.password ?? `pw-${storeSeq}-0123456789abcdef`;
  const row = await db
    .insertInto('stores')
    .values({
      merchant_id: merchant,
      name: `Store ${storeSeq}`,
      username,
      password_hash: hasher.hash(password),
      order_sources: sql`'{}'::text[]`,
      include_tags: sql`'{}'::text[]`,
      exclude_tags: sql`'{}'::text[]`,
      page_size: opts.page_size ?? 100,
      timezone: opts.timezone ?? 'UTC',
      lookback_minutes: opts.lookback_minutes ?? 0,
      order_number_prefix: opts.order_number_prefix ?? '',
      retired_at: opts.retired ? sql`now()` : null,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, merchantId: merchant, username, password };
}

const address = (name: string) => ({
  name,
  company: null,
  street1: '221 Elm St <rear> & co',
  street2: null,
  street3: null,
  city: 'Springfield',
  state: 'IL',
  postal_code: '62704',
  country: 'US',
  phone: '+1 555 0100',
  email: 'jane@example.com',
});

export function normalizedOrder(number: string, source = 'web'): Omit<NormalizedOrder, 'items'> {
  return {
    order_source: source,
    order_number: number,
    order_date: '2026-01-10T10:15:00.000Z',
    currency: 'USD',
    tags: [],
    shipping_method: 'Ground',
    payment_method: 'Card',
    order_total: '43.50',
    tax_amount: '1.50',
    shipping_amount: '5.00',
    amount_paid: null,
    customer_notes: 'Leave with the concierge ]]> ring twice',
    internal_notes: null,
    gift: false,
    gift_message: null,
    custom_fields: [],
    requested_warehouse: null,
    customer: { code: 'jane@example.com', email: 'jane@example.com' },
    bill_to: address('Jane Doe'),
    ship_to: address('Jane Doe'),
  };
}

export function item(sku: string, quantity = 2, price = '18.50'): NormalizedItem {
  return {
    line_id: `${sku}-line`,
    sku,
    name: `Item ${sku}`,
    quantity,
    unit_price: price,
    weight: '1.5',
    weight_unit: 'lb',
    image_url: null,
    location: null,
    upc: null,
    options: [],
    adjustment: false,
  };
}

let orderSeq = 0;

export interface SeedOrder {
  store?: number | null;
  status?: OrderStatus;
  /** SQL timestamp text or Date; default now(). */
  lastModified?: Date | string;
  number?: string;
  source?: string;
  served?: boolean;
  internalNotes?: string;
}

/** An order with two lines, routed to `store`, written directly. Returns its id. */
export async function seedOrder(db: Kysely<DB>, merchant: number, o: SeedOrder = {}): Promise<number> {
  orderSeq += 1;
  const number = o.number ?? `R-${process.pid}-${orderSeq}`;
  const content = { ...normalizedOrder(number, o.source ?? 'web'), internal_notes: o.internalNotes ?? null };
  const items = [item(`SKU-${orderSeq}-A`), item(`SKU-${orderSeq}-B`, 1, '6.50')];
  const lm = o.lastModified instanceof Date ? o.lastModified.toISOString() : o.lastModified;
  const row = await db
    .insertInto('orders')
    .values({
      merchant_id: merchant,
      order_source: content.order_source,
      order_number: number,
      status: o.status ?? 'new',
      order_date: content.order_date,
      currency: 'USD',
      tags: sql`'{}'::text[]`,
      order_total: content.order_total,
      tax_amount: content.tax_amount,
      shipping_amount: content.shipping_amount,
      amount_paid: null,
      content: JSON.stringify(content),
      content_hash: `h${orderSeq}`,
      store_id: o.store ?? null,
      served_store_id: o.served && o.store ? o.store : null,
      served_at: o.served && o.store ? sql`now()` : null,
      ...(lm ? { last_modified: lm } : {}),
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('order_lines')
    .values(
      items.map((it, i) => ({
        merchant_id: merchant,
        order_id: row.id,
        position: i,
        line_id: it.line_id,
        sku: it.sku,
        name: it.name,
        quantity: it.quantity,
        unit_price: it.unit_price,
        adjustment: it.adjustment,
        content: JSON.stringify(it),
      })) as never,
    )
    .execute();
  return row.id;
}

/** Listens on an ephemeral port; answers the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${addr.port}`;
}

export const basicHeader = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** ShipStation's form encoding of a date: 01%2f23%2f2012+17%3a28. */
export function ssDate(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+').toLowerCase().replace(/%2f/g, '%2f');
}

/** `MM/dd/yyyy HH:mm` of a UTC instant. */
export function fmtUtc(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

export interface ExportCall {
  status: number;
  headers: Headers;
  body: string;
}

/** GET /shipstation?action=export as ShipStation sends it, over real HTTP. */
export async function exportCall(
  base: string,
  store: { username: string; password: string },
  start: string,
  end: string,
  page?: number,
  how: 'header' | 'query' = 'header',
): Promise<ExportCall> {
  let url = `${base}/shipstation?action=export&start_date=${ssDate(start)}&end_date=${ssDate(end)}`;
  if (page !== undefined) url += `&page=${page}`;
  const headers: Record<string, string> = {};
  if (how === 'header') headers.authorization = basicHeader(store.username, store.password);
  else
    url += `&SS-UserName=${encodeURIComponent(store.username)}&SS-Password=${encodeURIComponent(store.password)}`;
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

/** The OrderIDs of an export page, in order, and its pages attribute. */
export function parseOrders(xml: string): {
  pages: number;
  ids: number[];
  statuses: string[];
  lastModified: string[];
} {
  const pages = Number(/<Orders pages="(\d+)"/.exec(xml)?.[1] ?? Number.NaN);
  const ids = [...xml.matchAll(/<OrderID>(?:<!\[CDATA\[)?([^<\]]+)/g)].map((m) => Number(m[1]));
  const statuses = [...xml.matchAll(/<OrderStatus>(?:<!\[CDATA\[)?([^<\]]+)/g)].map((m) => m[1]!);
  const lastModified = [...xml.matchAll(/<LastModified>([^<]+)</g)].map((m) => m[1]!);
  return { pages, ids, statuses, lastModified };
}
