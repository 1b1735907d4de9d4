/**
 * Shipments and alerts for the REST API: pickup listing, confirm, void, alerts. Every write is one
 * transaction; shipment writes lock the order row first (orders/lock.ts; then its shipments and
 * notices), the same order as notice application.
 */
import { type Kysely, sql } from 'kysely';
import { keysOf, ordersById, rowsById } from '../db/keyed.js';
import type { DB, OrderStatus } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, notFound } from '../http/errors.js';
import { type Page, pageById } from '../lib/cursor.js';
import { type Actor, type OrderEvent, writeOrderEvents } from '../domain/order-events.js';
import { isShippedAtMove, shipmentFactsFromRows } from '../domain/summary-facts.js';
import {
  type HeldFrom,
  isOpen,
  nextStatus,
  OPEN_STATUSES,
  reopenTarget,
  type StatusWithHold,
} from '../domain/lifecycle.js';
import { lockOrderForWrite } from '../orders/lock.js';
import { isCovered, replayShipments, statusAfterVoid } from './status.js';

export type ShipmentStatusFilter = 'unconfirmed' | 'confirmed' | 'voided' | 'all';
export type AlertStatusFilter = 'open' | 'dismissed' | 'all';

export interface ShipmentItemView {
  line_id: string | null;
  line_item_id: number;
  sku: string | null;
  name: string | null;
  quantity: number;
  requested_quantity: number;
}

export interface ShipmentView {
  id: number;
  order_id: number;
  order_number: string;
  order_source: string;
  store_id: number | null;
  notice_id: number | null;
  carrier: string | null;
  service: string | null;
  tracking_number: string | null;
  ship_date: string | null;
  label_created_at: Date | null;
  shipping_cost: string | null;
  notify_customer: boolean | null;
  created_at: Date;
  confirmed_at: Date | null;
  voided_at: Date | null;
  source_notified_at: Date | null;
  items: ShipmentItemView[];
}

/** Shipments with their items: one query for the shipments (joined to their orders), one for items. */
async function loadShipments(
  db: Kysely<DB>,
  merchantId: number,
  filter: {
    ids?: readonly number[];
    status?: ShipmentStatusFilter;
    orderId?: number | undefined;
    after?: number | undefined;
    limit?: number;
  },
): Promise<ShipmentView[]> {
  let q = db
    .selectFrom('shipments as s')
    // One primary-key probe per shipment (a plain join on the merchant may hash-join a scan of all
    // the merchant's orders when statistics are stale; offset 0 keeps the probe a probe).
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('orders as x')
          .select(['x.order_number', 'x.order_source'])
          .whereRef('x.merchant_id', '=', 's.merchant_id')
          .whereRef('x.id', '=', 's.order_id')
          .offset(0)
          .as('o'),
      (j) => j.onTrue(),
    )
    .select([
      's.id',
      's.order_id',
      'o.order_number',
      'o.order_source',
      's.store_id',
      's.notice_id',
      's.carrier',
      's.service',
      's.tracking_number',
      's.ship_date',
      's.label_created_at',
      's.shipping_cost',
      's.notify_customer',
      's.created_at',
      's.confirmed_at',
      's.voided_at',
      's.source_notified_at',
    ])
    .where('s.merchant_id', '=', merchantId);
  if (filter.ids) q = q.where('s.id', 'in', filter.ids.length > 0 ? [...filter.ids] : [-1]);
  if (filter.orderId !== undefined) q = q.where('s.order_id', '=', filter.orderId);
  if (filter.after !== undefined) q = q.where('s.id', '>', filter.after);
  switch (filter.status) {
    case 'unconfirmed':
      q = q.where('s.confirmed_at', 'is', null).where('s.voided_at', 'is', null);
      break;
    case 'confirmed':
      q = q.where('s.confirmed_at', 'is not', null).where('s.voided_at', 'is', null);
      break;
    case 'voided':
      q = q.where('s.voided_at', 'is not', null);
      break;
    default:
      break;
  }
  q = q.orderBy('s.id');
  if (filter.limit !== undefined) q = q.limit(filter.limit);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const items = await db
    .selectFrom('shipment_lines as sl')
    .innerJoin('order_lines as l', (j) =>
      j.onRef('l.merchant_id', '=', 'sl.merchant_id').onRef('l.id', '=', 'sl.order_line_id'),
    )
    .select([
      'sl.shipment_id',
      'l.line_id',
      'l.id as line_item_id',
      'l.sku',
      'l.name',
      'sl.quantity',
      'sl.requested_quantity',
    ])
    .where('sl.merchant_id', '=', merchantId)
    .where(
      'sl.shipment_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('sl.shipment_id')
    .orderBy('l.position')
    .execute();
  const byShipment = new Map<number, ShipmentItemView[]>();
  for (const { shipment_id, ...item } of items) {
    const list = byShipment.get(shipment_id) ?? [];
    if (list.length === 0) byShipment.set(shipment_id, list);
    list.push(item);
  }
  return rows.map((r) => ({ ...r, items: byShipment.get(r.id) ?? [] }));
}

export async function listShipments(
  db: Kysely<DB>,
  merchantId: number,
  opts: {
    status: ShipmentStatusFilter;
    orderId?: number | undefined;
    after?: number | undefined;
    limit: number;
  },
): Promise<Page<ShipmentView>> {
  return pageById(await loadShipments(db, merchantId, { ...opts, limit: opts.limit + 1 }), opts.limit);
}

export async function getShipment(db: Kysely<DB>, merchantId: number, id: number): Promise<ShipmentView> {
  const [s] = await loadShipments(db, merchantId, { ids: [id] });
  if (!s) throw notFound(`shipment ${id}`);
  return s;
}

/**
 * Marks shipments picked up. Shipments already confirmed, voided, or not this merchant's are not
 * counted. An order that is shipped and has no unconfirmed, non-voided shipment left → confirmed.
 */
export async function confirmShipments(
  db: Kysely<DB>,
  merchantId: number,
  ids: readonly number[],
  actor: Actor,
): Promise<number> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return 0;
  return inTransaction(db, async (trx) => {
    // Every statement below probes its keys one by one (db/keyed.ts): bounded by the shipments
    // confirmed, whatever the statistics say about the merchant.
    const targets = (
      await sql<{ order_id: number }>`
        select distinct s.order_id from ${rowsById('shipments', 's', merchantId, wanted)}
        where s.confirmed_at is null and s.voided_at is null
      `.execute(trx)
    ).rows;
    if (targets.length === 0) return 0;
    const orderIds = targets.map((t) => t.order_id).sort((a, b) => a - b);
    const orders = (
      await sql<{ id: number; status: OrderStatus }>`
        select o.id, o.status from ${ordersById(merchantId, orderIds, { lock: true })} order by o.id
      `.execute(trx)
    ).rows;
    const confirmed = (
      await sql<{ id: number; order_id: number }>`
        update shipments s set confirmed_at = now()
        from ${keysOf('shipments', merchantId, wanted)}
        where s.merchant_id = t.merchant_id and s.id = t.id and s.order_id = any(${orderIds}::bigint[])
          -- not "confirmed_at is null and voided_at is null", which would let the planner walk the
          -- whole pickup index (every unconfirmed shipment) instead of probing the keys
          and coalesce(s.confirmed_at, s.voided_at) is null
        returning s.id, s.order_id
      `.execute(trx)
    ).rows;
    if (confirmed.length === 0) return 0;
    const touched = [...new Set(confirmed.map((c) => c.order_id))];
    // count … filter rather than a WHERE: the pickup index (unconfirmed shipments of the merchant)
    // must not be a candidate for a count per order.
    const open = (
      await sql<{ order_id: number; n: number }>`
        select k.id as order_id, (
          select count(*) filter (where x.confirmed_at is null and x.voided_at is null)
          from shipments x where x.merchant_id = ${merchantId} and x.order_id = k.id
        )::int as n
        from unnest(${touched}::bigint[]) as k(id)
      `.execute(trx)
    ).rows;
    const stillOpen = new Set(open.filter((o) => o.n > 0).map((o) => o.order_id));
    // Orders the lifecycle's confirm moves (shipped → confirmed) once no shipment awaits pickup.
    const toConfirm = orders.flatMap((o) => {
      const t = nextStatus(o.status, 'confirm');
      return touched.includes(o.id) && !stillOpen.has(o.id) && t !== null && t.status !== o.status
        ? [{ id: o.id, from: o.status, to: t.status }]
        : [];
    });
    if (toConfirm.length > 0) {
      // Every order confirm moves goes to the same status (the table has one confirm row).
      await sql`
        update orders o set status = ${toConfirm[0]!.to}, held_from = null, updated_at = now()
        from ${keysOf(
          'orders',
          merchantId,
          toConfirm.map((o) => o.id),
        )}
        where o.merchant_id = t.merchant_id and o.id = t.id
      `.execute(trx);
    }
    const others = touched.filter((id) => !toConfirm.some((o) => o.id === id));
    if (others.length > 0) {
      await sql`
        update orders o set updated_at = now()
        from ${keysOf('orders', merchantId, others)}
        where o.merchant_id = t.merchant_id and o.id = t.id
      `.execute(trx);
    }
    const events: OrderEvent[] = [];
    for (const orderId of touched) {
      events.push({
        order_id: orderId,
        type: 'shipments_confirmed',
        from_status: null,
        to_status: null,
        data: { shipment_ids: confirmed.filter((c) => c.order_id === orderId).map((c) => c.id) },
      });
    }
    for (const o of toConfirm) {
      events.push({ order_id: o.id, type: o.to, from_status: o.from, to_status: o.to, data: {} });
    }
    await writeOrderEvents(trx, merchantId, actor, events);
    return confirmed.length;
  });
}

/**
 * Voids a shipment (a relabel in ShipStation is never notified). The remaining shipments of the
 * order are replayed in order to recompute every line's shipped quantity, and the status follows
 * (status.ts statusAfterVoid): a shipped or confirmed order no longer covered reopens to the status
 * it was shipped from (new becomes at_wms once served: lifecycle.ts reopenTarget); canceled stays
 * canceled. Twice → 409.
 */
export async function voidShipment(
  db: Kysely<DB>,
  merchantId: number,
  shipmentId: number,
  actor: Actor,
): Promise<ShipmentView> {
  await inTransaction(db, async (trx) => {
    const target = await trx
      .selectFrom('shipments')
      .select(['order_id'])
      .where('merchant_id', '=', merchantId)
      .where('id', '=', shipmentId)
      .executeTakeFirst();
    if (!target) throw notFound(`shipment ${shipmentId}`);
    const order = await lockOrderForWrite(trx, merchantId, target.order_id, { routing: false });
    if (!order) throw notFound(`shipment ${shipmentId}`);
    const voided = await trx
      .updateTable('shipments')
      .set({ voided_at: sql`now()` })
      .where('merchant_id', '=', merchantId)
      .where('id', '=', shipmentId)
      .where('voided_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (!voided) {
      const s = await trx
        .selectFrom('shipments')
        .select('voided_at')
        .where('merchant_id', '=', merchantId)
        .where('id', '=', shipmentId)
        .executeTakeFirstOrThrow();
      throw conflict(`shipment ${shipmentId} was already voided at ${s.voided_at?.toISOString() ?? '?'}`);
    }

    const lines = await trx
      .selectFrom('order_lines')
      .select(['id', 'quantity', 'adjustment', 'excluded', 'shipped_quantity'])
      .where('merchant_id', '=', merchantId)
      .where('order_id', '=', order.id)
      .execute();
    const remaining = await trx
      .selectFrom('shipments')
      .select(['id', 'confirmed_at'])
      .where('merchant_id', '=', merchantId)
      .where('order_id', '=', order.id)
      .where('voided_at', 'is', null)
      .orderBy('id')
      .execute();
    const remainingLines =
      remaining.length === 0
        ? []
        : await trx
            .selectFrom('shipment_lines')
            .select(['shipment_id', 'order_line_id', 'quantity', 'requested_quantity'])
            .where('merchant_id', '=', merchantId)
            .where(
              'shipment_id',
              'in',
              remaining.map((r) => r.id),
            )
            .execute();
    const replay = replayShipments(
      lines,
      remaining.map((r) => ({
        id: r.id,
        lines: remainingLines
          .filter((l) => l.shipment_id === r.id)
          .map((l) => ({ lineId: l.order_line_id, requested: l.requested_quantity })),
      })),
    );
    const lineChanges = remainingLines.filter(
      (l) => (replay.applied.get(l.shipment_id)?.get(l.order_line_id) ?? 0) !== l.quantity,
    );
    if (lineChanges.length > 0) {
      await sql`
        update shipment_lines sl set quantity = v.q
        from (values ${sql.join(
          lineChanges.map(
            (l) =>
              sql`(${l.shipment_id}::bigint, ${l.order_line_id}::bigint, ${replay.applied.get(l.shipment_id)?.get(l.order_line_id) ?? 0}::int)`,
          ),
        )}) as v(sid, lid, q)
        where sl.merchant_id = ${merchantId} and sl.shipment_id = v.sid and sl.order_line_id = v.lid
      `.execute(trx);
    }
    const shippedChanges = lines.filter((l) => (replay.shipped.get(l.id) ?? 0) !== l.shipped_quantity);
    if (shippedChanges.length > 0) {
      await sql`
        update order_lines l set shipped_quantity = v.q
        from (values ${sql.join(
          shippedChanges.map((l) => sql`(${l.id}::bigint, ${replay.shipped.get(l.id) ?? 0}::int)`),
        )}) as v(id, q)
        where l.merchant_id = ${merchantId} and l.order_id = ${order.id} and l.id = v.id
      `.execute(trx);
    }

    const covered = isCovered(
      lines.map((l) => ({
        quantity: l.quantity,
        shipped: replay.shipped.get(l.id) ?? 0,
        adjustment: l.adjustment,
        excluded: l.excluded,
      })),
    );
    const allConfirmed = remaining.length > 0 && remaining.every((r) => r.confirmed_at !== null);
    let reopen: StatusWithHold = reopenTarget(null, order.served_store_id !== null);
    if (!covered && (order.status === 'shipped' || order.status === 'confirmed')) {
      const shippedEvent = await trx
        .selectFrom('order_events')
        .select(['from_status', 'data'])
        .where('merchant_id', '=', merchantId)
        .where('order_id', '=', order.id)
        .where('to_status', '=', 'shipped')
        .where('from_status', 'in', [...OPEN_STATUSES])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      const heldFrom = shippedEvent?.data?.['held_from'];
      reopen = reopenTarget(
        shippedEvent
          ? {
              status: shippedEvent.from_status as OrderStatus,
              held_from: typeof heldFrom === 'string' ? (heldFrom as HeldFrom) : null,
            }
          : null,
        order.served_store_id !== null,
      );
    }
    const change = statusAfterVoid(
      order.status,
      order.held_from as HeldFrom | null,
      covered,
      allConfirmed,
      reopen,
    );
    // updateLockedOrder's bump, with the summary facts recomputed from the live shipments left
    // (a multi-column assignment, which the query builder does not write).
    await sql`
      update orders o set status = ${change.status}, held_from = ${change.held_from}, updated_at = now(),
        ${
          isShippedAtMove(order.status, change.status)
            ? sql`shipped_at = now(), ${shipmentFactsFromRows(sql`now()`)}`
            : shipmentFactsFromRows(sql`o.shipped_at`)
        }
      where o.merchant_id = ${merchantId} and o.id = ${order.id}
    `.execute(trx);
    const events: OrderEvent[] = [
      {
        order_id: order.id,
        type: 'shipment_voided',
        from_status: null,
        to_status: null,
        data: {
          shipment_id: shipmentId,
          shipped: lines.map((l) => ({
            line_item_id: l.id,
            shipped_quantity: replay.shipped.get(l.id) ?? 0,
          })),
        },
      },
    ];
    if (change.status !== order.status) {
      events.push({
        order_id: order.id,
        type: isOpen(change.status) ? 'reopened' : change.status,
        from_status: order.status,
        to_status: change.status,
        data: { shipment_id: shipmentId },
      });
    }
    await writeOrderEvents(trx, merchantId, actor, events);
  });
  return getShipment(db, merchantId, shipmentId);
}

export const ALERT_COLUMNS = [
  'id',
  'kind',
  'message',
  'order_id',
  'store_id',
  'notice_id',
  'data',
  'created_at',
  'dismissed_at',
  'dismissed_by',
] as const;

export async function listAlerts(
  db: Kysely<DB>,
  merchantId: number,
  opts: {
    status: AlertStatusFilter;
    kind?: string | undefined;
    orderId?: number | undefined;
    storeId?: number | undefined;
    after?: number | undefined;
    limit: number;
  },
) {
  let q = db.selectFrom('alerts').select(ALERT_COLUMNS).where('merchant_id', '=', merchantId);
  if (opts.status === 'open') q = q.where('dismissed_at', 'is', null);
  if (opts.status === 'dismissed') q = q.where('dismissed_at', 'is not', null);
  if (opts.kind !== undefined) q = q.where('kind', '=', opts.kind);
  if (opts.orderId !== undefined) q = q.where('order_id', '=', opts.orderId);
  if (opts.storeId !== undefined) q = q.where('store_id', '=', opts.storeId);
  if (opts.after !== undefined) q = q.where('id', '>', opts.after);
  return pageById(
    await q
      .orderBy('id')
      .limit(opts.limit + 1)
      .execute(),
    opts.limit,
  );
}

/**
 * Dismisses the merchant's open alerts that `which` names: one alert by id, or a notice's alerts
 * of one kind. An alert dismissed before keeps its first dismissal (who and when).
 */
export async function dismissOpenAlerts(
  db: Kysely<DB>,
  merchantId: number,
  which: { id: number } | { noticeId: number; kind: string },
  by: string,
): Promise<void> {
  let q = db
    .updateTable('alerts')
    .set({ dismissed_at: sql`now()`, dismissed_by: by })
    .where('merchant_id', '=', merchantId)
    .where('dismissed_at', 'is', null);
  q =
    'id' in which
      ? q.where('id', '=', which.id)
      : q.where('notice_id', '=', which.noticeId).where('kind', '=', which.kind);
  await q.execute();
}

/** Dismisses an alert and answers it; dismissing twice keeps the first dismissal. */
export async function dismissAlert(db: Kysely<DB>, merchantId: number, alertId: number, by: string) {
  await dismissOpenAlerts(db, merchantId, { id: alertId }, by);
  const row = await db
    .selectFrom('alerts')
    .select(ALERT_COLUMNS)
    .where('merchant_id', '=', merchantId)
    .where('id', '=', alertId)
    .executeTakeFirst();
  if (!row) throw notFound(`alert ${alertId}`);
  return row;
}
