import { type Kysely, sql } from 'kysely';
import type { AppContext } from '../context.js';
import { ordersById } from '../db/keyed.js';
import type { DB, OrderStatus, Store } from '../db/schema.js';
import { retryOnConflict } from '../db/transaction.js';
import { AppError } from '../http/errors.js';
import { insertOrderEvents, storeActor } from '../domain/order-events.js';
import { changedBySql, statusAfterSql } from '../domain/lifecycle-sql.js';
import type { NormalizedItem, NormalizedOrder } from '../orders/types.js';
import type { StoredEffective } from '../rules/effective.js';
import { withEffective } from '../rules/evaluate.js';
import { exportWindow } from './dates.js';
import { type ExportOrder, type LineWithId, renderOrdersPage, toExportOrder } from './order-xml.js';

/**
 * The Custom Store order export: `GET /shipstation?action=export&start_date=…&end_date=…&page=N`.
 *
 * Stable pages: page 1 writes the window's ordered id list into export_snapshot_orders with one
 * INSERT … SELECT (memory stays flat whatever the window's size); later pages read their slice of the
 * newest unexpired snapshot with the same key (store, window, page size), on any instance.
 *
 * Serving a page is ONE statement, atomic on its own (no BEGIN/COMMIT round trips): find the
 * snapshot, lock the page's orders that are still routed to this store (the lock re-routing takes),
 * pin them and move new → at_wms in one UPDATE without touching last_modified, write the order events
 * set-wise, and answer the locked orders with their lines as one JSON value. Page 1 first writes its
 * snapshot in a statement of its own (the page statement must see its rows). The log row and the
 * store's health follow in a third statement. A later page therefore costs two statements (serve,
 * log) besides authentication; it cost eight before (bench/README.md).
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

/**
 * The condition of a window, shared by the snapshot fill and the read-only test connection. The
 * bounds are sub-selects on purpose: opaque to the planner, the range is estimated as narrow and
 * walked on orders_export_idx. As constants they are compared with the statistics, and statistics
 * taken before a burst of orders say that "the last few hours" hold the whole store: the window
 * was then read with a scan of every order.
 */
function inWindow(w: Window) {
  return sql`o.last_modified >= (select ${w.start}::timestamptz) and o.last_modified < (select ${w.end}::timestamptz)`;
}

/**
 * A new snapshot of the window, in one statement: this store's expired snapshots are deleted, the
 * window's ordered ids are numbered once, and the snapshot row (with its total) and its id list are
 * inserted from them.
 */
export async function createSnapshot(db: Db, store: Store, w: Window, ttlMinutes: number): Promise<Snapshot> {
  const { rows } = await sql<{ id: number; total: number }>`
    with expired as (
      delete from export_snapshots
      where store_id = ${store.id} and merchant_id = ${store.merchant_id} and expires_at < now()
    ),
    ids as materialized (
      select o.id, row_number() over (order by o.last_modified, o.id) as position
      from orders o
      where o.store_id = ${store.id} and ${inWindow(w)}
    ),
    snap as (
      insert into export_snapshots (merchant_id, store_id, window_start, window_end, page_size, total, expires_at)
      values (${store.merchant_id}, ${store.id}, ${w.start}, ${w.end}, ${store.page_size},
        (select count(*) from ids), now() + make_interval(mins => ${ttlMinutes}))
      returning id, total
    ),
    filled as (
      insert into export_snapshot_orders (merchant_id, snapshot_id, position, order_id)
      select ${store.merchant_id}, snap.id, ids.position, ids.id from ids cross join snap
    )
    select id, total::int as total from snap
  `.execute(db);
  return rows[0]!;
}

export const pagesOf = (total: number, pageSize: number) => Math.ceil(total / pageSize);

/** What the page statement answers: the snapshot (null when none matched) and the served orders. */
export interface ServedPage {
  snapshot: Snapshot | null;
  /** The locked orders, in page order, as they are after the pinning. */
  rows: PageOrderRow[];
}

interface ServedRow {
  id: number;
  order_source: string;
  order_number: string;
  status: OrderStatus;
  last_modified: string;
  content: Omit<NormalizedOrder, 'items'>;
  effective: StoredEffective | null;
  /** [order_lines.id, order_lines.content] by position. */
  lines: [number, NormalizedItem][] | null;
  /** False when the row changed between the statement's snapshot and its lock (see servePageRows). */
  fresh: boolean;
}

const withLineIds = (lines: [number, NormalizedItem][] | null): LineWithId[] =>
  (lines ?? []).map(([id, item]) => ({ ...item, line_item_id: id }));

/**
 * Serves one page of a snapshot in ONE statement, atomic without a transaction around it:
 *
 * 1. `snapshot`: by id (page 1, just written) or the newest unexpired one with the same key (store,
 *    window, page size); `page_positions`: the page's slice of its order ids.
 * 2. `page_orders`: the page's orders still routed to this store, locked FOR UPDATE in id order (the
 *    order re-routing locks in; should a deadlock still happen, PostgreSQL aborts one side and
 *    servePage serves the page again). A row that was re-routed while we waited fails the re-checked
 *    store_id and drops out. Every column the page needs is read HERE: a locked row is the newest
 *    committed version, whereas the rest of the statement sees the statement's snapshot.
 * 3. `served` + `events`: pin (served_store_id, served_at), the lifecycle's serve (new → at_wms),
 *    updated_at; last_modified is untouched. One 'pinned' / 'exported' event per change.
 * 4. The answer: the locked orders with the status they now have, and their lines. Lines are read
 *    from the statement's snapshot; they can only be older than the locked row if another
 *    transaction changed the order (every line change also writes the order row) and committed
 *    while we waited for its lock. `fresh` compares the locked version's xmin with the snapshot's:
 *    when they differ, that order is read again after the commit (below).
 */
export async function servePageRows(
  db: Db,
  store: Store,
  w: Window,
  page: number,
  snapshotId: number | undefined,
): Promise<ServedPage> {
  const m = store.merchant_id;
  const lo = (page - 1) * store.page_size + 1;
  const hi = page * store.page_size;
  const snap =
    snapshotId !== undefined
      ? sql`select id, total from export_snapshots where merchant_id = ${m} and id = ${snapshotId}`
      : sql`select id, total from export_snapshots
          where store_id = ${store.id} and window_start = ${w.start} and window_end = ${w.end}
            and page_size = ${store.page_size} and expires_at > now()
          order by id desc limit 1`;
  const { rows } = await sql<{ id: number | null; total: number | null; orders: ServedRow[] | null }>`
    with snapshot as (${snap}),
    page_positions as materialized (
      select p.order_id, p.position
      from snapshot
      cross join lateral (
        select so.order_id, so.position from export_snapshot_orders so
        where so.merchant_id = ${m} and so.snapshot_id = snapshot.id and so.position between ${lo} and ${hi}
        offset 0
      ) p
      order by p.order_id
    ),
    page_orders as (
      select o.*, p.position
      from page_positions p
      cross join lateral (
        select o.merchant_id, o.id, o.order_source, o.order_number, o.status, o.served_store_id, o.store_id,
          o.last_modified, o.content, o.effective, o.xmin as x
        from orders o where o.merchant_id = ${m} and o.id = p.order_id
        offset 0 for update
      ) o
      where o.store_id = ${store.id}
    ),
    served as (
      update orders o set
        served_store_id = ${store.id}::bigint,
        served_at = case when l.served_store_id is null then now() else o.served_at end,
        status = ${statusAfterSql('serve', sql`o.status`)},
        updated_at = now()
      from page_orders l
      where o.merchant_id = l.merchant_id and o.id = l.id
        and (l.served_store_id is null or l.status in (${changedBySql('serve')}))
      returning o.id, l.status as old_status, o.status as new_status, l.served_store_id as old_served
    ),
    events as (
      ${insertOrderEvents(
        m,
        storeActor(store.id),
        sql`(
          select id as order_id, 'pinned' as type, null as from_status, null as to_status,
            jsonb_build_object('store_id', ${store.id}::bigint) as data
          from served where old_served is null
          union all
          select id, 'exported', old_status, new_status, jsonb_build_object('store_id', ${store.id}::bigint)
          from served where old_status <> new_status
        ) e`,
      )}
    )
    select (select id from snapshot) as id, (select total from snapshot)::int as total, (
      select json_agg(json_build_object(
        'id', l.id, 'order_source', l.order_source, 'order_number', l.order_number,
        'status', ${statusAfterSql('serve', sql`l.status`)},
        'last_modified', l.last_modified, 'content', l.content, 'effective', l.effective,
        'fresh', exists (select 1 from orders s where s.merchant_id = ${m} and s.id = l.id and s.xmin = l.x),
        'lines', (select json_agg(json_build_array(ln.id, ln.content) order by ln.position)
          from order_lines ln where ln.merchant_id = ${m} and ln.order_id = l.id)
      ) order by l.position)
      from page_orders l
    ) as orders
  `.execute(db);
  const r = rows[0];
  if (!r || r.id === null || r.total === null) return { snapshot: null, rows: [] };
  const served = r.orders ?? [];
  const out: PageOrderRow[] = served.map((o) => ({
    id: Number(o.id),
    order_source: o.order_source,
    order_number: o.order_number,
    status: o.status,
    last_modified: new Date(o.last_modified),
    content: o.content,
    effective: o.effective,
    lines: withLineIds(o.lines),
  }));
  const stale = served.filter((o) => !o.fresh).map((o) => Number(o.id));
  if (stale.length > 0) {
    // Changed by a transaction that committed while we waited for its lock: read those orders again
    // (content, lines and status together, from a snapshot taken after our commit).
    const again = new Map((await readOrders(db, store, stale)).map((o) => [o.id, o]));
    for (let i = 0; i < out.length; i++) {
      const fresh = again.get(out[i]!.id);
      if (fresh) out[i] = fresh;
    }
  }
  return { snapshot: { id: Number(r.id), total: r.total }, rows: out };
}

/** The columns of a PageOrderRow, from orders `o` (lines with our line ids, by position). */
const PAGE_ROW = sql`o.id, o.order_source, o.order_number, o.status, o.last_modified, o.content, o.effective,
  coalesce((
    select jsonb_agg(l.content || jsonb_build_object('line_item_id', l.id) order by l.position)
    from order_lines l where l.merchant_id = o.merchant_id and l.order_id = o.id
  ), '[]'::jsonb) as lines`;

/** Orders of this store by id, with their lines (the stale rows of servePageRows; the XML preview). */
export async function readOrders(db: Db, store: Store, ids: number[]): Promise<PageOrderRow[]> {
  const { rows } = await sql<PageOrderRow>`
    select ${PAGE_ROW}
    from ${ordersById(store.merchant_id, ids)}
  `.execute(db);
  return rows;
}

export interface PageOrderRow {
  id: number;
  order_source: string;
  order_number: string;
  status: OrderStatus;
  last_modified: Date;
  /** The stored normalised order (orders.content), less its lines. */
  content: Omit<NormalizedOrder, 'items'>;
  /** What rules made of it (orders.effective): null when they changed nothing. */
  effective: StoredEffective | null;
  /** Each line's stored normalised item plus our line id (order_lines.id), by position. */
  lines: LineWithId[];
}

/**
 * The page's orders still routed to this store, with their lines, in page order, in one query,
 * without locking or pinning (the read-only test connection; the bench's render timing).
 */
export async function readPage(
  db: Db,
  store: Store,
  snapshotId: number,
  page: number,
): Promise<PageOrderRow[]> {
  const lo = (page - 1) * store.page_size + 1;
  const hi = page * store.page_size;
  const { rows } = await sql<PageOrderRow>`
    select ${PAGE_ROW}
    from ${ordersById(
      store.merchant_id,
      sql`(
      select array_agg(order_id order by position) from export_snapshot_orders
      where merchant_id = ${store.merchant_id} and snapshot_id = ${snapshotId} and position between ${lo} and ${hi}
    )`,
    )}
    where o.store_id = ${store.id}
    order by k.i
  `.execute(db);
  return rows;
}

/**
 * What ShipStation is sent of an order: the effective order (what normalisation and rules made of
 * it), without the lines rules excluded. An order no rule touched is sent as it was sent to us.
 */
export function exportedOrder(r: PageOrderRow): Omit<NormalizedOrder, 'items'> & { items: LineWithId[] } {
  const sent = { ...r.content, order_source: r.order_source, order_number: r.order_number };
  if (r.effective === null) return { ...sent, items: r.lines };
  const excluded = new Set(r.effective.fields.excluded);
  return {
    ...withEffective(sent, r.effective.fields),
    items: r.lines.filter((_, position) => !excluded.has(position)),
  };
}

export function renderPage(store: Store, rows: PageOrderRow[], pages: number): string {
  const prefix = store.order_number_prefix;
  const orders: ExportOrder[] = rows.map((r) =>
    toExportOrder({
      id: r.id,
      status: r.status,
      lastModified: r.last_modified,
      order: exportedOrder(r),
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
  // possible (PostgreSQL aborts one side, and the page statement, atomic, wrote nothing), and then
  // the page is simply served again.
  return retryOnConflict(async () => {
    const result = await servePageOnce(ctx, store, w, page);
    // After the commit, on its own: the store row is locked by store changes before they re-route
    // orders, so taking it after the page's order locks inside one transaction could deadlock.
    await recordExport(ctx.db, store, w, page, result.pages, result.orders, performance.now() - started);
    return result;
  });
}

async function servePageOnce(
  ctx: AppContext,
  store: Store,
  w: Window,
  page: number,
): Promise<ExportPageResult> {
  const ttl = ctx.config.exportSnapshotTtlMinutes;
  // Page 1 always takes a new snapshot; a later page uses the newest one with its key, or takes one
  // when none is left (expired, or ShipStation started past page 1).
  let served =
    page === 1
      ? await servePageRows(ctx.db, store, w, page, (await createSnapshot(ctx.db, store, w, ttl)).id)
      : await servePageRows(ctx.db, store, w, page, undefined);
  if (!served.snapshot) {
    served = await servePageRows(ctx.db, store, w, page, (await createSnapshot(ctx.db, store, w, ttl)).id);
  }
  const snap = served.snapshot!;
  const pages = pagesOf(snap.total, store.page_size);
  const rows = page <= pages ? served.rows : [];
  return {
    xml: renderPage(store, rows, pages),
    window: w,
    page,
    pages,
    total: snap.total,
    orders: rows.length,
    orderIds: rows.map((r) => r.id),
  };
}

/**
 * The export log row and the store's health, in one statement. On page 1 the store's last window
 * moves forward (never backwards: a manual re-pull of an old window must not fake a gap later), and
 * a window that starts after the furthest window end seen so far raises an export_gap alert — orders
 * modified in between may have been missed. The very first export of a store raises nothing.
 * Later pages move last_export_at at most once a second: the store row is hot while ShipStation
 * walks a window (many pages a second, several stores of one merchant), and a second is precision
 * enough for the health answer.
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
      and (${first}::boolean or last_export_at is null or last_export_at < now() - interval '1 second')
  `.execute(db);
}
