/**
 * Orders in the database: batch ingestion, replace, lifecycle transitions, reads and lists.
 * Every write runs in one transaction that also calls the routing hook (routeOrders).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import { ordersBySourceNumber } from '../db/keyed.js';
import type { DB, OrderStatus } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import {
  type HeldFrom,
  isEditable,
  type MerchantEvent,
  nextStatus,
  refusalMessage,
} from '../domain/lifecycle.js';
import { type Actor, insertOrderEvents, writeOrderEvents } from '../domain/order-events.js';
import { AppError, conflict, type ErrorDetail, formatPath, invalid, notFound } from '../http/errors.js';
import { decodeCursor, nextCursor, pageOf } from '../lib/cursor.js';
import { merchantRoutingLock, routeOrdersLocked } from '../stores/assign.js';
import { canonicalJson, contentHash, hashOf, orderContent } from './content.js';
import { type LockedOrder, lockOrderForWrite, updateLockedOrder } from './lock.js';
import { MAX_BATCH_DETAILS, type ParsedOrder, parseOrder } from './schema.js';
import type { NormalizedItem, NormalizedOrder } from './types.js';
import {
  LINES_OF_O,
  type LineRow,
  loadOrders,
  type OrderRow,
  type OrderView,
  ordersWithMerchant,
  rowWithLinesToView,
} from './view.js';

export interface MerchantRef {
  id: number;
  code: string;
}

export type IngestResult =
  | { index: number; result: 'created' | 'duplicate'; order: OrderView }
  | {
      index: number;
      result: 'conflict' | 'invalid';
      error: { code: string; message: string; details?: ErrorDetail[] };
    };

const keyOf = (source: string, number: string) => JSON.stringify([source, number]);

function conflictMessage(merchant: MerchantRef, o: NormalizedOrder, id: number): string {
  return (
    `order '${o.order_number}' from source '${o.order_source}' already exists (id ${id}) with different content; ` +
    `use PUT /v1/merchants/${merchant.code}/orders/${id} to replace it`
  );
}

function moneyColumns(o: NormalizedOrder) {
  return {
    order_date: o.order_date,
    currency: o.currency,
    order_total: o.order_total,
    tax_amount: o.tax_amount,
    shipping_amount: o.shipping_amount,
    amount_paid: o.amount_paid,
  };
}

function lineColumns(it: NormalizedItem) {
  return {
    line_id: it.line_id,
    sku: it.sku,
    name: it.name,
    quantity: it.quantity,
    unit_price: it.unit_price,
    adjustment: it.adjustment,
    content: it,
  };
}

/** Inserts lines of many orders in one statement (one JSON parameter: no bind-parameter limit). */
async function insertLines(
  trx: Kysely<DB>,
  merchantId: number,
  lines: { order_id: number; position: number; item: NormalizedItem }[],
): Promise<void> {
  if (lines.length === 0) return;
  const rows = lines.map((l) => ({ order_id: l.order_id, position: l.position, ...lineColumns(l.item) }));
  await sql`
    insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price, adjustment, content)
    select ${merchantId}, r.order_id, r.position, r.line_id, r.sku, r.name, r.quantity, r.unit_price, r.adjustment, r.content
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
      order_id bigint, position integer, line_id text, sku text, name text, quantity integer,
      unit_price numeric, adjustment boolean, content jsonb)
  `.execute(trx);
}

interface Existing {
  id: number;
  order_source: string;
  order_number: string;
  content_hash: string;
}

async function selectExisting(
  trx: Kysely<DB>,
  merchantId: number,
  keys: { s: string; n: string }[],
): Promise<Existing[]> {
  if (keys.length === 0) return [];
  const r = await sql<Existing>`
    select o.id, o.order_source, o.order_number, o.content_hash
    from ${ordersBySourceNumber(merchantId, keys)}
  `.execute(trx);
  return r.rows;
}

/** An existing order as the first statement of an ingestion reads it: row, lines and all. */
type ExistingRow = OrderRow & { lines: LineRow[] };

/**
 * The first statement of an ingestion: the stored orders among `keys` (full rows with their lines,
 * so duplicates need no further read), and, when some key is not stored yet (orders will be
 * created, then routed), the merchant's routing share lock. Taking that lock here, in an earlier
 * statement than routing (READ COMMITTED: a new snapshot per statement), is what routeOrders'
 * own first statement would do. `keys` are distinct.
 */
async function selectExistingAndLock(
  trx: Kysely<DB>,
  merchantId: number,
  keys: { s: string; n: string }[],
): Promise<ExistingRow[]> {
  // The lock CTE is counted in the outer row (an unreferenced SELECT CTE would not run) and that row
  // drives the left join, so it runs whether or not any order is found.
  const r = await sql<ExistingRow | { id: null }>`
    with stored as materialized (
      select o.*, m.code as merchant_code, ${LINES_OF_O} as lines
      from ${ordersBySourceNumber(merchantId, keys)}
      join merchants m on m.id = ${merchantId}
    ),
    routing_lock as materialized (
      ${merchantRoutingLock(merchantId, sql`(select count(*) from stored) < ${keys.length}`)}
    )
    select stored.* from (select count(*) as locked from routing_lock) l left join stored on true
  `.execute(trx);
  return r.rows.filter((row): row is ExistingRow => row.id !== null);
}

/**
 * Inserts new orders with their lines and 'created' events, in one statement. `rowsJson` is a
 * json array of {status, content_hash, o} where o is the normalised order (items included). Ids are
 * drawn in input order (so a batch's orders are numbered as sent), but rows are inserted sorted by
 * key, so that concurrent batches with overlapping orders wait on each other in the same order (no
 * deadlock). The input CTE holds a volatile function: materialised once. Orders lost to ON
 * CONFLICT DO NOTHING (another transaction created them meanwhile) are not in `ins`, so they get
 * no lines and no event. Lines and events are written in id (= input) order, lines by position.
 */
async function insertOrders(
  trx: Kysely<DB>,
  merchantId: number,
  actor: Actor,
  rowsJson: string,
): Promise<{ id: number; order_source: string; order_number: string }[]> {
  const r = await sql<{ id: number; order_source: string; order_number: string }>`
    with input as (
      select nextval(pg_get_serial_sequence('orders', 'id')) as id, r.status, r.content_hash,
        r.o - 'items' as content, r.o -> 'items' as items
      from jsonb_to_recordset(${rowsJson}::jsonb) as r(status text, content_hash text, o jsonb)
    ),
    ins as (
      insert into orders (id, merchant_id, order_source, order_number, status, order_date, currency, tags,
        order_total, tax_amount, shipping_amount, amount_paid, content, content_hash)
      overriding system value
      select r.id, ${merchantId}, r.content ->> 'order_source', r.content ->> 'order_number', r.status,
        (r.content ->> 'order_date')::timestamptz, r.content ->> 'currency',
        array(select jsonb_array_elements_text(r.content -> 'tags')), (r.content ->> 'order_total')::numeric,
        (r.content ->> 'tax_amount')::numeric, (r.content ->> 'shipping_amount')::numeric,
        (r.content ->> 'amount_paid')::numeric, r.content, r.content_hash
      from input r
      order by r.content ->> 'order_source', r.content ->> 'order_number'
      on conflict (merchant_id, order_source, order_number) do nothing
      returning id, order_source, order_number
    ),
    lines as (
      insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price,
        adjustment, content)
      select ${merchantId}, i.id, (x.n - 1)::integer, x.it ->> 'line_id', x.it ->> 'sku', x.it ->> 'name',
        (x.it ->> 'quantity')::integer, (x.it ->> 'unit_price')::numeric, (x.it ->> 'adjustment')::boolean, x.it
      from ins i
      join input r on r.id = i.id
      cross join lateral jsonb_array_elements(r.items) with ordinality as x(it, n)
      order by i.id, x.n
    ),
    events as (
      ${insertOrderEvents(
        merchantId,
        actor,
        sql`(
          select i.id as order_id, 'created' as type, null as from_status, r.status as to_status,
            jsonb_build_object('order_source', i.order_source, 'order_number', i.order_number) as data
          from ins i
          join input r on r.id = i.id
          order by i.id
        ) e`,
      )}
    )
    select id, order_source, order_number from ins
  `.execute(trx);
  return r.rows;
}

/** Validating a batch hands the event loop back at least this often. */
const YIELD_AFTER_MS = 20;

/**
 * Creates orders (a single order is a batch of one). Each input is validated and normalised; the
 * valid ones are written in a handful of statements; each answers created, duplicate (same
 * normalised content as the stored order), conflict (different content) or invalid.
 *
 * Statements: (1) the stored orders among the inputs, with the merchant's routing lock when some
 * are new; (2) the new orders, their lines and events; [(2b) only when another transaction created
 * some of them meanwhile: those]; (3) routing of the created orders; (4) the created orders as
 * answered. Duplicates only: (1).
 */
export async function ingestOrders(
  db: Kysely<DB>,
  merchant: MerchantRef,
  actor: Actor,
  inputs: readonly unknown[],
  batch: boolean,
): Promise<IngestResult[]> {
  const results: (IngestResult | undefined)[] = new Array(inputs.length);
  interface Valid {
    index: number;
    parsed: ParsedOrder;
    /** canonicalJson(order): hashed, and sent as the order's JSON (it is valid JSON of the order). */
    canonical: string;
    hash: string;
    key: string;
  }
  const valid: Valid[] = [];
  // The answer lists at most MAX_BATCH_DETAILS details in all: past that, an invalid order is
  // checked up to its first error.
  let budget = MAX_BATCH_DETAILS;
  let turn = performance.now();
  for (let index = 0; index < inputs.length; index++) {
    // A batch of 500 large orders takes a while to check: let other requests in between.
    if (performance.now() - turn > YIELD_AFTER_MS) {
      await nextTurn();
      turn = performance.now();
    }
    const r = parseOrder(inputs[index], 'create', batch ? ['orders', index] : [], budget);
    if (!r.ok) {
      budget = Math.max(1, budget - r.details.length);
      results[index] = {
        index,
        result: 'invalid',
        error: { code: 'invalid_request', message: r.message, details: r.details },
      };
      continue;
    }
    const o = r.value.order;
    const canonical = canonicalJson(o);
    valid.push({
      index,
      parsed: r.value,
      canonical,
      hash: hashOf(canonical),
      key: keyOf(o.order_source, o.order_number),
    });
  }
  if (valid.length === 0) return results as IngestResult[];

  // First occurrence of each (source, number) is the one that may create the order.
  const firsts = new Map<string, Valid>();
  for (const v of valid) if (!firsts.has(v.key)) firsts.set(v.key, v);

  const { stored, createdBy, views } = await inTransaction(db, async (trx) => {
    const stored = new Map<string, { id: number; hash: string }>();
    const views = new Map<number, OrderView>();
    const keys: { s: string; n: string }[] = [];
    for (const v of firsts.values())
      keys.push({ s: v.parsed.order.order_source, n: v.parsed.order.order_number });
    for (const e of await selectExistingAndLock(trx, merchant.id, keys)) {
      stored.set(keyOf(e.order_source, e.order_number), { id: e.id, hash: e.content_hash });
      views.set(e.id, rowWithLinesToView(e));
    }
    const toInsert: Valid[] = [];
    for (const v of firsts.values()) if (!stored.has(v.key)) toInsert.push(v);
    const createdBy = new Map<string, number>(); // key → index that created it
    if (toInsert.length > 0) {
      let rowsJson = '[';
      for (let i = 0; i < toInsert.length; i++) {
        const v = toInsert[i]!;
        if (i > 0) rowsJson += ',';
        rowsJson += `{"status":${JSON.stringify(v.parsed.status ?? 'new')},"content_hash":${JSON.stringify(v.hash)},"o":${v.canonical}}`;
      }
      rowsJson += ']';
      const inserted = await insertOrders(trx, merchant.id, actor, rowsJson);
      for (const r of inserted) {
        const key = keyOf(r.order_source, r.order_number);
        const v = firsts.get(key)!;
        stored.set(key, { id: r.id, hash: v.hash });
        createdBy.set(key, v.index);
      }
      // Orders another transaction created meanwhile (it committed before our insert went on).
      const late = toInsert.filter((v) => !stored.has(v.key));
      const more = await selectExisting(
        trx,
        merchant.id,
        late.map((v) => ({ s: v.parsed.order.order_source, n: v.parsed.order.order_number })),
      );
      for (const e of more)
        stored.set(keyOf(e.order_source, e.order_number), { id: e.id, hash: e.content_hash });

      // Ids in input order (createdBy holds the first occurrence, which toInsert lists in input order).
      const createdIds: number[] = [];
      for (const v of toInsert) if (createdBy.get(v.key) === v.index) createdIds.push(stored.get(v.key)!.id);
      // The merchant's routing lock was taken by the first statement (some key was not stored then).
      await routeOrdersLocked(trx, merchant.id, createdIds);
    }
    const missing: number[] = [];
    for (const v of valid) {
      const s = stored.get(v.key);
      if (s !== undefined && !views.has(s.id)) missing.push(s.id);
    }
    if (missing.length > 0) for (const o of await loadOrders(trx, merchant.id, missing)) views.set(o.id, o);
    return { stored, createdBy, views };
  });

  for (const v of valid) {
    const s = stored.get(v.key);
    const view = s ? views.get(s.id) : undefined;
    if (!s || !view) {
      // The order vanished between statements (cannot happen: orders are never deleted).
      throw new AppError('internal', 'order disappeared during ingestion');
    }
    if (createdBy.get(v.key) === v.index)
      results[v.index] = { index: v.index, result: 'created', order: view };
    else if (s.hash === v.hash) results[v.index] = { index: v.index, result: 'duplicate', order: view };
    else {
      results[v.index] = {
        index: v.index,
        result: 'conflict',
        error: {
          code: 'conflict',
          message: conflictMessage(merchant, v.parsed.order, s.id),
          details: [
            {
              path: formatPath(batch ? ['orders', v.index, 'order_number'] : ['order_number']),
              message: 'exists',
            },
          ],
        },
      };
    }
  }
  return results as IngestResult[];
}

/** Locks the order for a change that is routed afterwards (orders/lock.ts); 404 when missing. */
async function lockOrder(trx: Kysely<DB>, merchantId: number, id: number): Promise<LockedOrder> {
  const row = await lockOrderForWrite(trx, merchantId, id, { routing: true });
  if (!row) throw notFound(`order ${id}`);
  return row;
}

async function viewOf(db: Kysely<DB>, merchantId: number, id: number): Promise<OrderView> {
  const [v] = await loadOrders(db, merchantId, [id]);
  if (!v) throw notFound(`order ${id}`);
  return v;
}

export async function getOrder(db: Kysely<DB>, merchant: MerchantRef, id: number): Promise<OrderView> {
  return viewOf(db, merchant.id, id);
}

/**
 * Replaces an order's content (PUT). Refused once shipped, confirmed or canceled; line changes
 * refused once served to ShipStation or shipped in part (any shipment row, voided or not, or any
 * shipped quantity). order_source and order_number are the order's identity: they may be
 * omitted, and must equal the stored ones when sent. The same content changes nothing.
 */
export async function replaceOrder(
  db: Kysely<DB>,
  merchant: MerchantRef,
  actor: Actor,
  id: number,
  input: unknown,
): Promise<OrderView> {
  const parsed = parseOrder(input, 'replace');
  if (!parsed.ok) throw invalid(parsed.message, parsed.details);
  return inTransaction(db, async (trx) => {
    const row = await lockOrder(trx, merchant.id, id);
    if (!isEditable(row.status)) {
      throw conflict(`the order is ${row.status}: its content can no longer be replaced`);
    }
    const p = parsed.value;
    const o = p.order;
    const identity: ErrorDetail[] = [];
    if (p.source_given && o.order_source !== row.order_source) {
      identity.push({ path: 'order_source', message: `is '${row.order_source}' and cannot change` });
    }
    if (p.number_given && o.order_number !== row.order_number) {
      identity.push({ path: 'order_number', message: `is '${row.order_number}' and cannot change` });
    }
    if (identity.length > 0) {
      throw conflict(
        'order_source and order_number identify the order and cannot change; create a new order',
        identity,
      );
    }
    o.order_source = row.order_source;
    o.order_number = row.order_number;
    const hash = contentHash(o);
    if (hash === row.content_hash) return viewOf(trx, merchant.id, id);

    const existing = await trx
      .selectFrom('order_lines')
      .select(['id', 'position', 'line_id', 'shipped_quantity', 'content'])
      .where('merchant_id', '=', merchant.id)
      .where('order_id', '=', id)
      .orderBy('position')
      .execute();
    const itemsChanged = canonicalJson(existing.map((l) => l.content)) !== canonicalJson(o.items);
    if (itemsChanged) {
      const reasons: string[] = [];
      if (row.served_store_id !== null) reasons.push('it has been served to ShipStation');
      const shipment = await trx
        .selectFrom('shipments')
        .select('id')
        .where('merchant_id', '=', merchant.id)
        .where('order_id', '=', id)
        .limit(1)
        .executeTakeFirst();
      if (shipment || existing.some((l) => l.shipped_quantity > 0)) reasons.push('it has a shipment');
      if (reasons.length > 0) {
        throw conflict(
          `the order's lines and quantities can no longer change: ${reasons.join(' and ')} ` +
            '(ShipStation may not take item changes on re-import); other fields can',
          [{ path: 'items', message: 'differs from the stored lines' }],
        );
      }
      await replaceLines(trx, merchant.id, id, existing, o.items);
    }
    const before = row.content as Record<string, unknown>;
    const after = orderContent(o) as unknown as Record<string, unknown>;
    const changed = Object.keys(after).filter((k) => canonicalJson(before[k]) !== canonicalJson(after[k]));
    if (itemsChanged) changed.push('items');
    await updateLockedOrder(trx, row, {
      ...moneyColumns(o),
      tags: o.tags,
      content: JSON.stringify(orderContent(o)),
      content_hash: hash,
      last_modified: sql<Date>`now()`,
    });
    await writeOrderEvents(trx, merchant.id, actor, [
      { order_id: id, type: 'replaced', from_status: row.status, to_status: row.status, data: { changed } },
    ]);
    // lockOrder took the merchant's routing lock in an earlier statement.
    await routeOrdersLocked(trx, merchant.id, [id]);
    return viewOf(trx, merchant.id, id);
  });
}

/**
 * New lines replace the old: a line whose merchant line_id was there before keeps its row (and so
 * its line_item_id); lines without line_id keep the row at the same position when that row had
 * no line_id either; other old rows are deleted and other new lines inserted.
 */
async function replaceLines(
  trx: Kysely<DB>,
  merchantId: number,
  orderId: number,
  existing: { id: number; position: number; line_id: string | null }[],
  items: NormalizedItem[],
): Promise<void> {
  const byLineId = new Map(existing.filter((l) => l.line_id !== null).map((l) => [l.line_id!, l.id]));
  const byPosition = new Map(existing.filter((l) => l.line_id === null).map((l) => [l.position, l.id]));
  const kept: { id: number; position: number; item: NormalizedItem }[] = [];
  const added: { order_id: number; position: number; item: NormalizedItem }[] = [];
  const used = new Set<number>();
  items.forEach((item, position) => {
    const match = item.line_id !== null ? byLineId.get(item.line_id) : byPosition.get(position);
    if (match !== undefined && !used.has(match)) {
      used.add(match);
      kept.push({ id: match, position, item });
    } else {
      added.push({ order_id: orderId, position, item });
    }
  });
  const removed = existing.filter((l) => !used.has(l.id)).map((l) => l.id);
  if (removed.length > 0) {
    await trx
      .deleteFrom('order_lines')
      .where('merchant_id', '=', merchantId)
      .where('id', 'in', removed)
      .execute();
  }
  if (kept.length > 0) {
    // Out of the way first: positions are unique per order and checked row by row.
    await trx
      .updateTable('order_lines')
      .set({ position: sql<number>`-1 - position` })
      .where('merchant_id', '=', merchantId)
      .where('order_id', '=', orderId)
      .execute();
    const rows = kept.map((k) => ({ id: k.id, position: k.position, ...lineColumns(k.item) }));
    await sql`
      update order_lines l set position = r.position, line_id = r.line_id, sku = r.sku, name = r.name,
        quantity = r.quantity, unit_price = r.unit_price, adjustment = r.adjustment, content = r.content
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id bigint, position integer, line_id text,
        sku text, name text, quantity integer, unit_price numeric, adjustment boolean, content jsonb)
      where l.merchant_id = ${merchantId} and l.id = r.id
    `.execute(trx);
  }
  await insertLines(trx, merchantId, added);
}

/** A merchant's lifecycle request (pay, hold, release, cancel), under the order's row lock. */
export async function transitionOrder(
  db: Kysely<DB>,
  merchant: MerchantRef,
  actor: Actor,
  id: number,
  event: MerchantEvent,
  reason: string | null,
): Promise<OrderView> {
  return inTransaction(db, async (trx) => {
    const row = await lockOrder(trx, merchant.id, id);
    const next = nextStatus(row.status, event, row.held_from as HeldFrom | null);
    if (!next)
      throw conflict(refusalMessage(event, row.status), [{ path: 'status', message: `is ${row.status}` }]);
    await updateLockedOrder(trx, row, {
      status: next.status,
      held_from: next.held_from,
      last_modified: sql<Date>`now()`,
    });
    await writeOrderEvents(trx, merchant.id, actor, [
      {
        order_id: id,
        type: event,
        from_status: row.status,
        to_status: next.status,
        data: reason === null ? null : { reason },
      },
    ]);
    // lockOrder took the merchant's routing lock in an earlier statement.
    await routeOrdersLocked(trx, merchant.id, [id]);
    return viewOf(trx, merchant.id, id);
  });
}

export interface EventView {
  id: number;
  at: Date;
  type: string;
  from_status: string | null;
  to_status: string | null;
  actor_type: string;
  actor: string | null;
  data: Record<string, unknown> | null;
}

export async function orderEvents(db: Kysely<DB>, merchant: MerchantRef, id: number): Promise<EventView[]> {
  const order = await db
    .selectFrom('orders')
    .select('id')
    .where('merchant_id', '=', merchant.id)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!order) throw notFound(`order ${id}`);
  return db
    .selectFrom('order_events')
    .select(['id', 'at', 'type', 'from_status', 'to_status', 'actor_type', 'actor', 'data'])
    .where('merchant_id', '=', merchant.id)
    .where('order_id', '=', id)
    .orderBy('id')
    .execute();
}

export interface ListFilter {
  status?: OrderStatus[] | undefined;
  order_source?: string | undefined;
  order_number?: string | undefined;
  routing?: 'routed' | 'unrouted' | undefined;
  /** ISO 8601 with offset; inclusive. */
  updated_since?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

type IdCursor = { id: number };
type UpdatedCursor = { us: number; id: number };
const isIdCursor = (v: unknown): v is IdCursor =>
  typeof v === 'object' &&
  v !== null &&
  Object.keys(v).length === 1 &&
  Number.isSafeInteger((v as IdCursor).id);
const isUpdatedCursor = (v: unknown): v is UpdatedCursor =>
  typeof v === 'object' &&
  v !== null &&
  Object.keys(v).length === 2 &&
  Number.isSafeInteger((v as UpdatedCursor).us) &&
  Number.isSafeInteger((v as UpdatedCursor).id);

/**
 * Lists orders. Without updated_since: by id (ids only grow, so every order that existed when the
 * walk began is answered exactly once, and orders added meanwhile at most once).
 *
 * With updated_since: by (updated_at, id), inclusive of updated_since. updated_at is the writing
 * transaction's now(), i.e. its start; a transaction that commits late writes an updated_at older
 * than rows already answered. So the list stops at a horizon: only rows with updated_at strictly
 * before the start of the oldest transaction still open on the database (or before now()) are
 * answered (the horizon is read before the list's snapshot); whatever commits later has an
 * updated_at at or after the horizon and is answered by a later page or poll. Nothing is skipped; an order changed again is answered again (at-least-once).
 * An open transaction that has written holds the horizon back (later pages wait for it); one that
 * has not written yet counts for its first 5 seconds only, so a long read-only transaction (a
 * backup) cannot stall polling. Our writers touch orders in their first statement.
 * Cost: answers lag by the age of the oldest open writing transaction (usually milliseconds).
 */
export async function listOrders(
  db: Kysely<DB>,
  merchant: MerchantRef,
  f: ListFilter,
): Promise<{ orders: OrderView[]; next_cursor: string | null }> {
  let q = ordersWithMerchant(db);
  // One status without updated_since is a key range below (the range implies it).
  const keyedStatus = f.updated_since === undefined && f.status?.length === 1;
  if (f.status && f.status.length > 0 && !keyedStatus) q = q.where('o.status', 'in', f.status);
  if (f.order_source !== undefined) q = q.where('o.order_source', '=', f.order_source);
  if (f.order_number !== undefined) q = q.where('o.order_number', '=', f.order_number);
  if (f.routing === 'routed') q = q.where('o.store_id', 'is not', null);
  if (f.routing === 'unrouted') q = q.where('o.store_id', 'is', null);

  if (f.updated_since === undefined) {
    const after = decodeCursor(f.cursor, isIdCursor);
    // The page is a range of the primary key, (merchant, after) < key < (merchant + 1, 0), not
    // `merchant_id = m and id > after`: estimated on the merchant alone, missing or stale statistics
    // can make a page look like the merchant's every order, and the planner then reads them all and
    // sorts them; a range of the key is walked in key order and stops at the page's end.
    // A single status is a range of (status, merchant_id, id) the same way.
    const one = keyedStatus ? f.status?.[0] : undefined;
    const [lead, from, to] =
      one === undefined ? [sql``, sql``, sql``] : [sql`o.status, `, sql`${one}::text, `, sql`${one}::text, `];
    q = q
      .where(
        sql<boolean>`(${lead}o.merchant_id, o.id) > (${from}${merchant.id}::bigint, ${after?.id ?? 0}::bigint)`,
      )
      .where(sql<boolean>`(${lead}o.merchant_id, o.id) < (${to}${merchant.id}::bigint + 1, 0::bigint)`);
    const rows = await q
      .select(LINES_OF_O.as('lines'))
      .orderBy(keyedStatus ? ['o.status', 'o.merchant_id', 'o.id'] : ['o.merchant_id', 'o.id'])
      .limit(f.limit + 1)
      .execute();
    const page = pageOf(rows, f.limit, (r): IdCursor => ({ id: r.id }));
    return { orders: page.rows.map(rowWithLinesToView), next_cursor: nextCursor(page.next) };
  }

  const after = decodeCursor(f.cursor, isUpdatedCursor);
  // The horizon is read in its own statement, before the list's snapshot is taken: a writer that
  // started before it was either still open then (so the horizon is at or before its start) or
  // had committed (so the list sees its rows).
  const h = await sql<{ us: number }>`
    select (extract(epoch from least(now(), coalesce(min(a.xact_start), now()))) * 1000000)::bigint as us
    from pg_stat_activity a
    where a.datname = current_database() and a.backend_type = 'client backend'
      and a.xact_start is not null and a.pid <> pg_backend_pid()
      and (a.backend_xid is not null or a.xact_start > now() - interval '5 seconds')`.execute(db);
  const horizonUs = Number(h.rows[0]?.us);
  q = q
    .where('o.merchant_id', '=', merchant.id)
    .where('o.updated_at', '>=', sql<Date>`${f.updated_since}::timestamptz`)
    .where('o.updated_at', '<', sql<Date>`timestamptz 'epoch' + ${horizonUs} * interval '1 microsecond'`);
  if (after) {
    q = q.where(
      sql<boolean>`(o.updated_at, o.id) > (timestamptz 'epoch' + ${after.us} * interval '1 microsecond', ${after.id})`,
    );
  }
  const rows = await q
    .select(sql<number>`(extract(epoch from o.updated_at) * 1000000)::bigint`.as('updated_us'))
    .select(LINES_OF_O.as('lines'))
    .orderBy('o.updated_at')
    .orderBy('o.id')
    .limit(f.limit + 1)
    .execute();
  const page = pageOf(rows, f.limit, (r): UpdatedCursor => ({ us: Number(r.updated_us), id: r.id }));
  return { orders: page.rows.map(rowWithLinesToView), next_cursor: nextCursor(page.next) };
}
