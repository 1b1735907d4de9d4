import { type Kysely, sql } from 'kysely';
import type { AppContext } from '../context.js';
import type { DB, OrderStatus, Store } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { exportWindow } from './dates.js';
import type { NormalizedOrder } from '../orders/types.js';
import { type ExportOrder, type LineWithId, renderOrdersPage, toExportOrder } from './order-xml.js';

/**
 * The Custom Store order export (§5): `GET /shipstation?action=export&start_date=…&end_date=…&page=N`.
 *
 * Stable pages: page 1 writes the window's ordered id list into export_snapshot_orders with one
 * INSERT … SELECT (memory stays flat whatever the window's size); later pages read their slice of the
 * newest unexpired snapshot with the same key (store, window, page size), on any instance.
 *
 * Serving a page, in one transaction: lock the page's orders that are still routed to this store
 * (the lock re-routing takes), pin them and move new → at_wms in one UPDATE without touching
 * last_modified, write the order events set-wise, then read the orders with their lines in one query.
 */

export interface ExportQuery {
  start_date?: string | undefined;
  end_date?: string | undefined;
  page?: string | undefined;
}

export interface Window {
  /** Inclusive, already widened backwards by the store's lookback. */
  start: Date;
  /**
   * EXCLUSIVE: the first instant after end_date's minute, so the window holds every instant through
   * that minute's last microsecond (dates.ts). Snapshots, the log and the store's health keep it so.
   */
  end: Date;
}

export interface ExportPageResult {
  xml: string;
  window: Window;
  page: number;
  pages: number;
  total: number;
  orders: number;
  /** The ids served, in page order (tests and the test connection use them). */
  orderIds: number[];
}

type Db = Kysely<DB>;

const invalid = (message: string, path: string) =>
  new AppError('invalid_request', message, [{ path, message }]);

/** page missing → 1; anything but a positive integer → 400 naming `page`. */
export function parsePage(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  if (!/^\s*\d+\s*$/.test(raw))
    throw invalid(`page must be a whole number of 1 or more (got "${raw}")`, 'page');
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n) || n < 1)
    throw invalid(`page must be a whole number of 1 or more (got "${raw}")`, 'page');
  return n;
}

/** The window of a request, in the store's time zone, with the lookback applied (400 when unreadable). */
export function windowOf(store: Store, q: ExportQuery): Window {
  const start = q.start_date;
  const end = q.end_date;
  if (start === undefined || start.trim() === '')
    throw invalid(`start_date is required (${FORMAT})`, 'start_date');
  if (end === undefined || end.trim() === '') throw invalid(`end_date is required (${FORMAT})`, 'end_date');
  if (!exportWindow(start, start, store.timezone)) {
    throw invalid(`start_date "${start}" is not a date-time like ${FORMAT}`, 'start_date');
  }
  const bare = exportWindow(start, end, store.timezone);
  if (!bare) throw invalid(`end_date "${end}" is not a date-time like ${FORMAT}`, 'end_date');
  // The bare window [start minute, end minute + 1 min) is empty only when start is after end.
  if (bare.start.getTime() >= bare.end.getTime()) {
    throw invalid(`start_date "${start}" is after end_date "${end}"`, 'start_date');
  }
  return exportWindow(start, end, store.timezone, store.lookback_minutes)!;
}

const FORMAT = 'MM/dd/yyyy HH:mm, e.g. 01/23/2012 17:28';

export interface Snapshot {
  id: number;
  total: number;
}

/** The condition of a window, shared by the snapshot fill and the read-only test connection. */
function inWindow(w: Window) {
  return sql`o.last_modified >= ${w.start} and o.last_modified < ${w.end}`;
}

/**
 * A new snapshot of the window, in one statement: this store's expired snapshots are deleted, the
 * snapshot row is inserted, and the window's ordered ids are copied with one INSERT … SELECT.
 */
export async function createSnapshot(db: Db, store: Store, w: Window, ttlMinutes: number): Promise<Snapshot> {
  const ttl = ttlMinutes;
  const { rows } = await sql<{ id: number; total: number }>`
    with expired as (
      delete from export_snapshots
      where store_id = ${store.id} and merchant_id = ${store.merchant_id} and expires_at < now()
    ),
    snap as (
      insert into export_snapshots (merchant_id, store_id, window_start, window_end, page_size, total, expires_at)
      values (${store.merchant_id}, ${store.id}, ${w.start}, ${w.end}, ${store.page_size}, 0,
        now() + make_interval(mins => ${ttl}))
      returning id
    ),
    filled as (
      insert into export_snapshot_orders (merchant_id, snapshot_id, position, order_id)
      select o.merchant_id, snap.id, row_number() over (order by o.last_modified, o.id), o.id
      from orders o cross join snap
      where o.store_id = ${store.id} and ${inWindow(w)}
      returning 1
    )
    select snap.id, (select count(*) from filled)::int as total from snap
  `.execute(db);
  const snap = rows[0]!;
  await sql`update export_snapshots set total = ${snap.total}
    where merchant_id = ${store.merchant_id} and id = ${snap.id}`.execute(db);
  return snap;
}

/** The newest unexpired snapshot with the same key, if any. */
export async function findSnapshot(db: Db, store: Store, w: Window): Promise<Snapshot | undefined> {
  const { rows } = await sql<Snapshot>`
    select id, total from export_snapshots
    where store_id = ${store.id} and window_start = ${w.start} and window_end = ${w.end}
      and page_size = ${store.page_size} and expires_at > now()
    order by id desc limit 1
  `.execute(db);
  return rows[0];
}

export const pagesOf = (total: number, pageSize: number) => Math.ceil(total / pageSize);

/**
 * Locks the page's orders that are still routed to this store, in id order (the order re-routing
 * locks in), and answers their ids. A re-routed order fails the re-checked store_id and drops out.
 */
export async function lockPage(db: Db, store: Store, snap: Snapshot, page: number): Promise<number[]> {
  const lo = (page - 1) * store.page_size + 1;
  const hi = page * store.page_size;
  const { rows } = await sql<{ id: number }>`
    select o.id from export_snapshot_orders so
    join orders o on o.merchant_id = so.merchant_id and o.id = so.order_id
    where so.merchant_id = ${store.merchant_id} and so.snapshot_id = ${snap.id}
      and so.position between ${lo} and ${hi} and o.store_id = ${store.id}
    order by o.id
    for update of o
  `.execute(db);
  return rows.map((r) => r.id);
}

/**
 * Pins the locked orders to this store and moves new → at_wms in one UPDATE (last_modified untouched;
 * updated_at moves for the rows that change), and writes their order events set-wise.
 */
export async function pinAndMark(db: Db, store: Store, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  const actor = String(store.id);
  await sql`
    with before as (
      select id, status as old_status, served_store_id as old_served from orders
      where merchant_id = ${store.merchant_id} and id = any(${ids}::bigint[]) and store_id = ${store.id}
        and (served_store_id is null or status = 'new')
    ),
    changed as (
      update orders o set
        served_store_id = ${store.id}::bigint,
        served_at = case when b.old_served is null then now() else o.served_at end,
        status = case when o.status = 'new' then 'at_wms' else o.status end,
        updated_at = now()
      from before b
      where o.merchant_id = ${store.merchant_id} and o.id = b.id
      returning o.id, b.old_status, b.old_served
    )
    insert into order_events (merchant_id, order_id, type, from_status, to_status, actor_type, actor, data)
    select ${store.merchant_id}::bigint, id, 'pinned', null, null, 'store', ${actor}::text,
      jsonb_build_object('store_id', ${store.id}::bigint)
    from changed where old_served is null
    union all
    select ${store.merchant_id}::bigint, id, 'exported', 'new', 'at_wms', 'store', ${actor}::text,
      jsonb_build_object('store_id', ${store.id}::bigint)
    from changed where old_status = 'new'
  `.execute(db);
}

export interface PageOrderRow {
  id: number;
  order_source: string;
  order_number: string;
  status: OrderStatus;
  last_modified: Date;
  /** The stored normalised order (orders.content), less its lines. */
  content: Omit<NormalizedOrder, 'items'>;
  /** Each line's stored normalised item plus our line id (order_lines.id), by position. */
  lines: LineWithId[];
}

/**
 * The page's orders with their lines, in page order, in one query. `ids` limits the page to the
 * orders actually served; without it (read-only test connection) every order still routed here.
 */
export async function readPage(
  db: Db,
  store: Store,
  snapshotId: number,
  page: number,
  ids?: number[],
): Promise<PageOrderRow[]> {
  const lo = (page - 1) * store.page_size + 1;
  const hi = page * store.page_size;
  const only = ids ? sql`and o.id = any(${ids}::bigint[])` : sql``;
  const { rows } = await sql<PageOrderRow>`
    select o.id, o.order_source, o.order_number, o.status, o.last_modified, o.content,
      coalesce((
        select jsonb_agg(l.content || jsonb_build_object('line_item_id', l.id) order by l.position)
        from order_lines l where l.merchant_id = o.merchant_id and l.order_id = o.id
      ), '[]'::jsonb) as lines
    from export_snapshot_orders so
    join orders o on o.merchant_id = so.merchant_id and o.id = so.order_id
    where so.merchant_id = ${store.merchant_id} and so.snapshot_id = ${snapshotId}
      and so.position between ${lo} and ${hi} and o.store_id = ${store.id} ${only}
    order by so.position
  `.execute(db);
  return rows;
}

export function renderPage(store: Store, rows: PageOrderRow[], pages: number): string {
  const prefix = store.order_number_prefix;
  const orders: ExportOrder[] = rows.map((r) =>
    toExportOrder({
      id: r.id,
      status: r.status,
      lastModified: r.last_modified,
      order: { ...r.content, order_source: r.order_source, order_number: r.order_number, items: r.lines },
      orderNumberPrefix: prefix,
    }),
  );
  return renderOrdersPage(orders, pages, store.timezone);
}

/**
 * Serves one export page as ShipStation asks for it. One transaction holds the snapshot (page 1, or
 * when none exists), the page's locks, the pinning and the events; the log row and the store's
 * health follow it.
 */
export async function servePage(ctx: AppContext, store: Store, q: ExportQuery): Promise<ExportPageResult> {
  const started = performance.now();
  const w = windowOf(store, q);
  const page = parsePage(q.page);
  // The page lock meets re-routing's set-wise UPDATE, which locks in its own order: a deadlock is
  // possible (PostgreSQL aborts one side), and then the page is simply served again.
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await servePageOnce(ctx, store, w, page);
      // After the commit, on its own: the store row is locked by store changes before they re-route
      // orders, so taking it after the page's order locks inside one transaction could deadlock.
      await recordExport(ctx.db, store, w, page, result.pages, result.orders, performance.now() - started);
      return result;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw e;
    }
  }
}

async function servePageOnce(
  ctx: AppContext,
  store: Store,
  w: Window,
  page: number,
): Promise<ExportPageResult> {
  return ctx.db.transaction().execute(async (trx) => {
    const snap =
      (page > 1 ? await findSnapshot(trx, store, w) : undefined) ??
      (await createSnapshot(trx, store, w, ctx.config.exportSnapshotTtlMinutes));
    const pages = pagesOf(snap.total, store.page_size);
    let rows: PageOrderRow[] = [];
    let ids: number[] = [];
    if (page <= pages) {
      ids = await lockPage(trx, store, snap, page);
      await pinAndMark(trx, store, ids);
      rows = ids.length > 0 ? await readPage(trx, store, snap.id, page, ids) : [];
    }
    const xml = renderPage(store, rows, pages);
    return {
      xml,
      window: w,
      page,
      pages,
      total: snap.total,
      orders: rows.length,
      orderIds: rows.map((r) => r.id),
    };
  });
}

/**
 * The export log row and the store's health, in one statement. On page 1 the store's last window
 * moves forward (never backwards: a manual re-pull of an old window must not fake a gap later), and
 * a window that starts after the furthest window end seen so far raises an export_gap alert — orders
 * modified in between may have been missed. The very first export of a store raises nothing.
 */
export async function recordExport(
  db: Db,
  store: Store,
  w: Window,
  page: number,
  pages: number,
  orders: number,
  ms: number,
) {
  const first = page === 1;
  await sql`
    with logged as (
      insert into export_log (merchant_id, store_id, window_start, window_end, page, pages, orders, duration_ms)
      values (${store.merchant_id}, ${store.id}, ${w.start}, ${w.end}, ${page}, ${pages}, ${orders}, ${ms})
    ),
    prev as (
      select last_window_end from stores where merchant_id = ${store.merchant_id} and id = ${store.id}
    ),
    gap as (
      insert into alerts (merchant_id, kind, message, store_id, data)
      select ${store.merchant_id}::bigint, 'export_gap',
        'ShipStation asked for a window starting ' || to_char(${w.start}::timestamptz at time zone 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || ' but the previous window ended ' || to_char(prev.last_window_end at time zone 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || ': orders modified in between may not have been imported; re-import that interval in ShipStation',
        ${store.id}::bigint,
        jsonb_build_object('from', prev.last_window_end, 'to', ${w.start}::timestamptz)
      from prev
      where ${first}::boolean and prev.last_window_end is not null
        and ${w.start}::timestamptz > prev.last_window_end
    )
    update stores set
      last_export_at = now(),
      last_window_start = case when ${first}::boolean and (last_window_end is null or ${w.end}::timestamptz >= last_window_end)
        then ${w.start}::timestamptz else last_window_start end,
      last_window_end = case when ${first}::boolean and (last_window_end is null or ${w.end}::timestamptz >= last_window_end)
        then ${w.end}::timestamptz else last_window_end end
    where merchant_id = ${store.merchant_id} and id = ${store.id}
  `.execute(db);
}
