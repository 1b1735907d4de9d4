/**
 * Orders in the database: the statements of the store stage of the orders service (service.ts),
 * reads and lists. The service runs every write in one transaction with routing.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { ordersById, ordersBySourceNumber } from '../db/keyed.js';
import type { DB, OrderStatus } from '../db/schema.js';
import { RULES_APPLY_TO_SQL } from '../domain/lifecycle-sql.js';
import { lockOrdersInIdOrder } from '../domain/order-lock.js';
import {
  type Actor,
  actorColumns,
  insertOrderEvents,
  insertOrderEventsOfActors,
  ROUTING_ACTOR,
} from '../domain/order-events.js';
import { type ErrorDetail, notFound } from '../http/errors.js';
import { decodeCursor, nextCursor, pageOf } from '../lib/cursor.js';
import type { StoredEffective } from '../rules/effective.js';
import {
  DECISION_OF_ROW,
  merchantRoutingLock,
  ROUTED_EVENT,
  ROUTING_MOVES,
  routedEventData,
  orderRouteOf,
  routingDecisions,
} from '../stores/assign.js';
import { type LockedOrder, lockOrderForWrite } from './lock.js';
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

export const keyOf = (source: string, number: string) => JSON.stringify([source, number]);

export function conflictMessage(merchant: MerchantRef, o: NormalizedOrder, id: number): string {
  return (
    `order '${o.order_number}' from source '${o.order_source}' already exists (id ${id}) with different content; ` +
    `use PUT /v1/merchants/${merchant.code}/orders/${id} to replace it`
  );
}

export function moneyColumns(o: NormalizedOrder) {
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

export async function selectExisting(
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
export type ExistingRow = OrderRow & { lines: LineRow[] };

/**
 * The first statement of an ingestion: the stored orders among `keys` (full rows with their lines,
 * so duplicates need no further read), and, when some key is not stored yet (orders will be
 * created, then routed), the merchant's routing share lock. Taking that lock here, in an earlier
 * statement than routing (READ COMMITTED: a new snapshot per statement), is what routeOrders'
 * own first statement would do. `keys` are distinct.
 */
export async function selectExistingAndLock(
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
 * The tags routing matches, as stored in orders.tags: the effective tags when rules or
 * normalisation left a stored effective (jsonb `effective`), else the sent ones (jsonb `content`).
 */
const ROUTED_TAGS = (content: string, effective: string) =>
  sql.raw(
    `array(select jsonb_array_elements_text(coalesce(${effective} -> 'fields' -> 'tags', ${content} -> 'tags')))`,
  );
/** Is line `position` excluded by the stored effective (jsonb `effective`)? */
const EXCLUDED_AT = (effective: string | RawBuilder<unknown>, position: RawBuilder<unknown>) =>
  sql`coalesce(${typeof effective === 'string' ? sql.raw(effective) : effective} -> 'fields' -> 'excluded' @> to_jsonb((${position})::integer), false)`;

/** The line positions the stored effective (jsonb `effective`) excludes, as a jsonb array. */
const EXCLUDED_OF = (effective: string) =>
  sql.raw(`coalesce(${effective} -> 'fields' -> 'excluded', '[]'::jsonb)`);

/**
 * The order's units (a summary fact, src/domain/summary-facts.ts): the quantities of its stored
 * lines that are not adjustments and not excluded by `effective` (jsonb) — the effective being
 * written, so units follow exclusions in the same statement.
 */
export const unitsOfLines = (
  merchantId: RawBuilder<unknown>,
  orderId: RawBuilder<unknown>,
  effective: string | RawBuilder<unknown>,
) =>
  sql<number>`(select coalesce(sum(l.quantity), 0)::integer from order_lines l
    where l.merchant_id = ${merchantId} and l.order_id = ${orderId} and not l.adjustment
      and not ${EXCLUDED_AT(effective, sql`l.position`)})`;

/**
 * Brings order_lines.excluded of `orderIds` in line with their stored effective (after a PUT or a
 * re-evaluation wrote it), in one statement; only lines that change are written.
 */
export async function syncExcludedLines(
  trx: Kysely<DB>,
  merchantId: number,
  orderIds: readonly number[],
): Promise<void> {
  if (orderIds.length === 0) return;
  const ids = [...new Set(orderIds)].sort((a, b) => a - b);
  await sql`
    update order_lines l set excluded = x.excluded
    from (
      select ln.merchant_id, ln.id, ${EXCLUDED_AT('o.effective', sql`ln.position`)} as excluded
      from ${ordersById(merchantId, ids)}
      join order_lines ln on ln.merchant_id = o.merchant_id and ln.order_id = o.id
    ) x
    where l.merchant_id = x.merchant_id and l.id = x.id and l.excluded <> x.excluded
  `.execute(trx);
}

/** A stored effective whose evaluation changed something: such a run is an order event. */
const RULES_CHANGED = (effective: string) =>
  sql.raw(`jsonb_array_length(coalesce(${effective} -> 'changes', '[]'::jsonb)) > 0`);
/** The data of a 'rules_applied' event: the rules that applied and what they changed. */
const RULES_APPLIED_DATA = (effective: string) =>
  sql.raw(`jsonb_build_object('applied', ${effective} -> 'applied', 'changes', ${effective} -> 'changes')`);

/**
 * Inserts new orders with their lines and 'created' events, in one statement. `rowsJson` is a
 * json array of {status, content_hash, o, effective} where o is the normalised order as sent (items
 * included) and effective what rules made of it (StoredEffective or null): `tags` holds the tags
 * routing matches (the effective ones), and an order rules changed gets a 'rules_applied' event. Ids are
 * drawn in input order (so a batch's orders are numbered as sent), but rows are inserted sorted by
 * key, so that concurrent batches with overlapping orders wait on each other in the same order (no
 * deadlock). The input CTE holds a volatile function: materialised once. Orders lost to ON
 * CONFLICT DO NOTHING (another transaction created them meanwhile) are not in `ins`, so they get
 * no lines and no event. Lines and events are written in id (= input) order, lines by position.
 */
export async function insertOrders(
  trx: Kysely<DB>,
  merchantId: number,
  actor: Actor,
  rowsJson: string,
): Promise<{ id: number; order_source: string; order_number: string }[]> {
  const r = await sql<{ id: number; order_source: string; order_number: string }>`
    with input as (
      select nextval(pg_get_serial_sequence('orders', 'id')) as id, r.status, r.content_hash,
        r.o - 'items' as content, r.o -> 'items' as items, r.effective
      from jsonb_to_recordset(${rowsJson}::jsonb) as r(status text, content_hash text, o jsonb, effective jsonb)
    ),
    ins as (
      insert into orders (id, merchant_id, order_source, order_number, status, order_date, currency, tags,
        order_total, tax_amount, shipping_amount, amount_paid, content, content_hash, effective, units)
      overriding system value
      select r.id, ${merchantId}, r.content ->> 'order_source', r.content ->> 'order_number', r.status,
        (r.content ->> 'order_date')::timestamptz, r.content ->> 'currency',
        ${ROUTED_TAGS('r.content', 'r.effective')}, (r.content ->> 'order_total')::numeric,
        (r.content ->> 'tax_amount')::numeric, (r.content ->> 'shipping_amount')::numeric,
        (r.content ->> 'amount_paid')::numeric, r.content, r.content_hash, r.effective,
        -- units (summary fact): the lines the lines CTE stores as neither adjustment nor excluded
        (select coalesce(sum((x.it ->> 'quantity')::integer), 0)::integer
          from jsonb_array_elements(r.items) with ordinality as x(it, n)
          where not (x.it ->> 'adjustment')::boolean and not ${EXCLUDED_AT('r.effective', sql`x.n - 1`)})
      from input r
      order by r.content ->> 'order_source', r.content ->> 'order_number'
      on conflict (merchant_id, order_source, order_number) do nothing
      returning id, order_source, order_number
    ),
    lines as (
      insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price,
        adjustment, excluded, content)
      select ${merchantId}, i.id, (x.n - 1)::integer, x.it ->> 'line_id', x.it ->> 'sku', x.it ->> 'name',
        (x.it ->> 'quantity')::integer, (x.it ->> 'unit_price')::numeric, (x.it ->> 'adjustment')::boolean,
        ${EXCLUDED_AT('r.effective', sql`x.n - 1`)}, x.it
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
          select i.id as order_id, x.type, null as from_status, x.to_status, x.data
          from ins i
          join input r on r.id = i.id
          cross join lateral (
            select 0 as k, 'created' as type, r.status as to_status,
              jsonb_build_object('order_source', i.order_source, 'order_number', i.order_number) as data
            union all
            select 1, 'rules_applied', null, ${RULES_APPLIED_DATA('r.effective')}
            where ${RULES_CHANGED('r.effective')}
          ) x
          order by i.id, x.k
        ) e`,
      )}
    )
    select id, order_source, order_number from ins
  `.execute(trx);
  return r.rows;
}

/** A re-evaluated order: what its stored effective becomes, for the content it was evaluated from. */
export interface EffectiveWrite {
  id: number;
  content_hash: string;
  effective: StoredEffective | null;
}

/**
 * Writes re-evaluated orders set-wise in ONE statement — their effective form and where routing
 * now sends them — so each order gets one new row version (`rows`: the orders whose stored
 * effective differs). Each is locked in id order (lockOrdersInIdOrder: the order export pages and
 * routing lock in) and written only if, under the lock, it is still unpinned, in a status rules
 * apply to, and has the content it was evaluated from (a PUT that committed meanwhile evaluated it
 * itself). Routing is routingDecisions of src/stores/assign.ts (the one set-wise definition) on the
 * NEW effective tags and rules' decision. Moves the routed tags, store and reason, last_modified
 * and updated_at, and the units when the order's line exclusions moved; writes a 'rules_applied'
 * event (as `actor`) for each order written and a 'routed' event (as routing) for each that moved,
 * one insert ordered by order. The caller holds the merchant's routing lock from an earlier
 * statement. Answers the ids written.
 */
export async function writeEffectiveAndRoute(
  trx: Kysely<DB>,
  merchantId: number,
  rows: readonly EffectiveWrite[],
  actor: Actor,
): Promise<number[]> {
  if (rows.length === 0) return [];
  const r = await sql<{ id: number }>`
    with input as materialized (
      select r.id, r.content_hash, r.effective
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id bigint, content_hash text, effective jsonb)
    ),
    locked as materialized (${lockOrdersInIdOrder(
      merchantId,
      sql`input`,
      sql`o.merchant_id, o.order_source, o.content_hash as locked_hash, o.status, o.served_store_id, o.store_id,
        o.routing_reason, o.withheld, ${ROUTED_TAGS('o.content', 'r.effective')} as tags`,
    )}),
    routable as materialized (
      select l.merchant_id, l.id, l.effective, l.order_source, l.tags, ${orderRouteOf(sql`l.withheld`, sql`l.effective`)} as rule_route,
        l.store_id, l.routing_reason
      from locked l
      where l.locked_hash = l.content_hash and l.served_store_id is null and l.status in (${RULES_APPLY_TO_SQL})
    ),
    ${routingDecisions(merchantId, sql`routable`)},
    changed as (
      update orders o
      set effective = r.effective, tags = r.tags, store_id = d.new_store_id, routing_reason = d.new_reason,
        last_modified = now(), updated_at = now(),
        -- units follow the lines' exclusions only: summed again only for an order whose exclusions moved
        units = case when ${EXCLUDED_OF('r.effective')} = ${EXCLUDED_OF('o.effective')} then o.units
          else ${unitsOfLines(sql`o.merchant_id`, sql`o.id`, 'r.effective')} end
      from routable r
      join decisions d on ${DECISION_OF_ROW}
      where o.merchant_id = r.merchant_id and o.id = r.id
      returning o.id, r.effective, r.store_id as old_store_id, d.new_store_id, d.new_reason, ${ROUTING_MOVES} as moved
    ),
    events as (
      ${insertOrderEventsOfActors(
        merchantId,
        sql`(
          select c.id as order_id, x.type, null as from_status, null as to_status, x.actor_type, x.actor, x.data
          from changed c
          cross join lateral (
            select 0 as k, 'rules_applied' as type, ${actorColumns(actor)},
              jsonb_build_object('applied', coalesce(c.effective -> 'applied', '[]'::jsonb),
                'changes', coalesce(c.effective -> 'changes', '[]'::jsonb)) as data
            union all
            select 1, ${sql.lit(ROUTED_EVENT)}, ${actorColumns(ROUTING_ACTOR)}, ${routedEventData(sql`c`)}
            where c.moved
          ) x
          order by c.id, x.k
        ) e`,
      )}
    )
    select id from changed order by id
  `.execute(trx);
  return r.rows.map((x) => Number(x.id));
}

/** An order as re-evaluation reads it: the sent order, its stored effective and content hash. */
export interface OpenOrderRow {
  id: number;
  content_hash: string;
  content: Omit<NormalizedOrder, 'items'>;
  effective: StoredEffective | null;
  items: NormalizedItem[];
}

/**
 * Up to `limit` of the merchant's orders after id `afterId` that rules still apply to (unserved, in
 * a status of RULES_APPLY_TO), by id, with their lines — or, without `lines` (the rules read none:
 * rulesReadLines), with `items` empty, which saves reading order_lines. A range of the primary key,
 * like a listing page: bounded by the rows walked whatever the statistics say.
 */
export async function openOrdersAfter(
  db: Kysely<DB>,
  merchantId: number,
  afterId: number,
  limit: number,
  opts: { lines: boolean },
): Promise<OpenOrderRow[]> {
  const items = opts.lines
    ? sql`coalesce((
      select json_agg(l.content order by l.position)
      from order_lines l where l.merchant_id = o.merchant_id and l.order_id = o.id), '[]'::json)`
    : sql`'[]'::json`;
  const r = await sql<OpenOrderRow>`
    select o.id, o.content_hash, o.content, o.effective, ${items} as items
    from orders o
    where (o.merchant_id, o.id) > (${merchantId}::bigint, ${afterId}::bigint)
      and (o.merchant_id, o.id) < (${merchantId}::bigint + 1, 0::bigint)
      and o.served_store_id is null and o.status in (${RULES_APPLY_TO_SQL})
    order by o.merchant_id, o.id
    limit ${limit}
  `.execute(db);
  return r.rows.map((x) => ({ ...x, id: Number(x.id) }));
}

/** Locks the order for a change that is routed afterwards (orders/lock.ts); 404 when missing. */
export async function lockOrder(trx: Kysely<DB>, merchantId: number, id: number): Promise<LockedOrder> {
  const row = await lockOrderForWrite(trx, merchantId, id, { routing: true });
  if (!row) throw notFound(`order ${id}`);
  return row;
}

export async function viewOf(db: Kysely<DB>, merchantId: number, id: number): Promise<OrderView> {
  const [v] = await loadOrders(db, merchantId, [id]);
  if (!v) throw notFound(`order ${id}`);
  return v;
}

export async function getOrder(db: Kysely<DB>, merchant: MerchantRef, id: number): Promise<OrderView> {
  return viewOf(db, merchant.id, id);
}

/**
 * New lines replace the old: a line whose merchant line_id was there before keeps its row (and so
 * its line_item_id); lines without line_id keep the row at the same position when that row had
 * no line_id either; other old rows are deleted and other new lines inserted.
 */
export async function replaceLines(
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
