/**
 * Applying one shipment notice to one order (§2, §5): the single code path of ShipStation's
 * shipnotify and of a person applying a stored unmatched notice.
 *
 * Runs inside the caller's transaction, with the order row locked FOR UPDATE first (the lock order of
 * every shipment write: order, then its shipments and notices), so concurrent notices for one order
 * are applied one after the other. The shipment row is inserted with ON CONFLICT DO NOTHING on its
 * idempotency key: a repeated notice, even one racing the first, changes nothing.
 *
 * Shipment bookkeeping never moves orders.last_modified (ShipStation would re-import the order
 * forever); updated_at moves.
 */
import { type Kysely, sql } from 'kysely';
import type { DB, OrderStatus } from '../db/schema.js';
import { parseMoneyInput } from '../lib/money.js';
import type { HeldFrom } from '../orders/lifecycle.js';
import { allocateLines, idempotencyKey, type NoticeItem } from '../shipstation/notice-matching.js';
import { isCovered, statusAfterShipment } from './status.js';

/** What a notice says about the shipment, after query/body precedence is settled. */
export interface ShipmentFacts {
  carrier: string | null;
  service: string | null;
  trackingNumber: string | null;
  /** 'YYYY-MM-DD' */
  shipDate: string | null;
  labelCreatedAt: Date | null;
  shippingCost: string | null;
  notifyCustomer: boolean | null;
  /** null (or empty): every shippable line in full. */
  items: NoticeItem[] | null;
}

export interface EventActor {
  actor_type: 'store' | 'credential' | 'admin' | 'system';
  actor: string;
}

export interface ApplyInput {
  merchantId: number;
  orderId: number;
  /** The store connection that received the notice. */
  storeId: number | null;
  noticeId: number | null;
  facts: ShipmentFacts;
  actor: EventActor;
  /** How the order was found (kept on the notice). */
  matchedBy?: string | undefined;
}

export interface ApplyOutcome {
  kind: 'applied' | 'duplicate';
  shipmentId: number;
  orderId: number;
  orderNumber: string;
  fromStatus: OrderStatus;
  status: OrderStatus;
  /** Kinds of the alerts raised. */
  alerts: string[];
}

/** The order row as shipment code needs it; null when it is not the merchant's. */
export async function lockOrder(trx: Kysely<DB>, merchantId: number, orderId: number) {
  return trx
    .selectFrom('orders')
    .select(['id', 'order_number', 'status', 'held_from', 'served_store_id'])
    .where('merchant_id', '=', merchantId)
    .where('id', '=', orderId)
    .forUpdate()
    .executeTakeFirst();
}

export async function applyShipment(trx: Kysely<DB>, input: ApplyInput): Promise<ApplyOutcome> {
  const { merchantId, facts } = input;
  const order = await lockOrder(trx, merchantId, input.orderId);
  if (!order) throw new Error(`order ${input.orderId} of merchant ${merchantId} not found`);

  const key = idempotencyKey({
    orderId: order.id,
    trackingNumber: facts.trackingNumber,
    items: facts.items,
    labelCreatedAt: facts.labelCreatedAt,
    shipDate: facts.shipDate,
    shippingCost: facts.shippingCost,
  });
  const inserted = await trx
    .insertInto('shipments')
    .values({
      merchant_id: merchantId,
      order_id: order.id,
      store_id: input.storeId,
      notice_id: input.noticeId,
      carrier: facts.carrier,
      service: facts.service,
      tracking_number: facts.trackingNumber,
      ship_date: facts.shipDate,
      label_created_at: facts.labelCreatedAt,
      shipping_cost: facts.shippingCost === null ? null : (parseMoneyInput(facts.shippingCost) ?? null),
      notify_customer: facts.notifyCustomer,
      idempotency_key: key,
    })
    .onConflict((oc) => oc.columns(['merchant_id', 'idempotency_key']).doNothing())
    .returning('id')
    .executeTakeFirst();

  if (!inserted) {
    const existing = await trx
      .selectFrom('shipments')
      .select('id')
      .where('merchant_id', '=', merchantId)
      .where('idempotency_key', '=', key)
      .executeTakeFirstOrThrow();
    if (input.noticeId !== null) {
      await trx
        .updateTable('ship_notices')
        .set({
          status: 'duplicate',
          order_id: order.id,
          shipment_id: existing.id,
          reason: `the same notice as shipment ${existing.id}: nothing changed`,
          resolved_at: sql`now()`,
          resolved_by: input.actor.actor,
        })
        .where('merchant_id', '=', merchantId)
        .where('id', '=', input.noticeId)
        .execute();
    }
    return {
      kind: 'duplicate',
      shipmentId: existing.id,
      orderId: order.id,
      orderNumber: order.order_number,
      fromStatus: order.status,
      status: order.status,
      alerts: [],
    };
  }
  const shipmentId = inserted.id;

  const lines = await trx
    .selectFrom('order_lines')
    .select(['id', 'position', 'sku', 'quantity', 'shipped_quantity', 'adjustment'])
    .where('merchant_id', '=', merchantId)
    .where('order_id', '=', order.id)
    .orderBy('position')
    .execute();
  const result = allocateLines(
    lines.map((l) => ({ ...l, shipped: l.shipped_quantity })),
    facts.items,
  );

  if (result.allocations.length > 0) {
    await trx
      .insertInto('shipment_lines')
      .values(
        result.allocations.map((a) => ({
          merchant_id: merchantId,
          shipment_id: shipmentId,
          order_line_id: a.lineId,
          quantity: a.applied,
          requested_quantity: a.requested,
        })),
      )
      .execute();
  }
  const increments = result.allocations.filter((a) => a.applied > 0);
  if (increments.length > 0) {
    await sql`
      update order_lines l set shipped_quantity = l.shipped_quantity + v.q
      from (values ${sql.join(increments.map((a) => sql`(${a.lineId}::bigint, ${a.applied}::int)`))}) as v(id, q)
      where l.merchant_id = ${merchantId} and l.order_id = ${order.id} and l.id = v.id
    `.execute(trx);
  }

  const appliedBy = new Map(increments.map((a) => [a.lineId, a.applied]));
  const covered = isCovered(
    lines.map((l) => ({
      quantity: l.quantity,
      shipped: l.shipped_quantity + (appliedBy.get(l.id) ?? 0),
      adjustment: l.adjustment,
    })),
  );
  const change = statusAfterShipment(order.status, order.held_from as HeldFrom | null, covered);
  await trx
    .updateTable('orders')
    .set({ status: change.status, held_from: change.held_from, updated_at: sql`now()` })
    .where('merchant_id', '=', merchantId)
    .where('id', '=', order.id)
    .execute();

  const lineInfo = new Map(lines.map((l) => [l.id, l]));
  const events: {
    type: string;
    from_status: string | null;
    to_status: string | null;
    data: Record<string, unknown>;
  }[] = [
    {
      type: 'shipment',
      from_status: null,
      to_status: null,
      data: {
        shipment_id: shipmentId,
        notice_id: input.noticeId,
        store_id: input.storeId,
        carrier: facts.carrier,
        service: facts.service,
        tracking_number: facts.trackingNumber,
        lines: result.allocations.map((a) => ({
          line_item_id: a.lineId,
          sku: lineInfo.get(a.lineId)?.sku ?? null,
          quantity: a.applied,
          requested_quantity: a.requested,
        })),
      },
    },
  ];
  if (change.status !== order.status) {
    events.push({
      type: change.status,
      from_status: order.status,
      to_status: change.status,
      // held_from lets a void reopen an order shipped while on hold to the hold it came from.
      data: { shipment_id: shipmentId, held_from: order.held_from },
    });
  }
  await trx
    .insertInto('order_events')
    .values(
      events.map((e) => ({
        merchant_id: merchantId,
        order_id: order.id,
        type: e.type,
        from_status: e.from_status,
        to_status: e.to_status,
        actor_type: input.actor.actor_type,
        actor: input.actor.actor,
        data: JSON.stringify(e.data),
      })),
    )
    .execute();

  const alerts: { kind: string; message: string; data: Record<string, unknown> }[] = [];
  const where = `order ${order.order_number} (id ${order.id}), shipment ${shipmentId}`;
  if (change.alert) {
    alerts.push({
      kind: change.alert.kind,
      message: `${change.alert.message}: ${where}`,
      data: { shipment_id: shipmentId, status: order.status, covered },
    });
  }
  if (result.excess.length > 0) {
    const parts = result.excess.map(
      (e) =>
        `line ${e.lineId}${e.sku ? ` (SKU ${e.sku})` : ''}: ${e.requested} shipped, ` +
        `${e.applied} counted (ordered ${e.ordered}, ${e.shippedBefore} shipped before)`,
    );
    alerts.push({
      kind: 'over_shipment',
      message: `more shipped than ordered on ${where}: ${parts.join('; ')}`,
      data: {
        shipment_id: shipmentId,
        lines: result.excess.map((e) => ({
          line_item_id: e.lineId,
          sku: e.sku,
          ordered: e.ordered,
          shipped_before: e.shippedBefore,
          requested: e.requested,
          applied: e.applied,
        })),
      },
    });
  }
  if (result.unknown.length > 0) {
    const parts = result.unknown.map(
      (u) => `${u.quantity} × ${u.sku ?? u.lineItemId ?? u.name ?? '(unnamed item)'} (${u.reason})`,
    );
    alerts.push({
      kind: 'unknown_item',
      message: `the notice lists items that match no line of ${where}: ${parts.join('; ')}`,
      data: {
        shipment_id: shipmentId,
        items: result.unknown.map((u) => ({
          line_item_id: u.lineItemId,
          sku: u.sku,
          name: u.name,
          quantity: u.quantity,
          reason: u.reason,
        })),
      },
    });
  }
  if (alerts.length > 0) {
    await trx
      .insertInto('alerts')
      .values(
        alerts.map((a) => ({
          merchant_id: merchantId,
          kind: a.kind,
          message: a.message,
          order_id: order.id,
          store_id: input.storeId,
          notice_id: input.noticeId,
          data: JSON.stringify(a.data),
        })),
      )
      .execute();
  }

  if (input.noticeId !== null) {
    await trx
      .updateTable('ship_notices')
      .set({
        status: 'applied',
        order_id: order.id,
        shipment_id: shipmentId,
        reason: input.matchedBy ? `matched by ${input.matchedBy}` : null,
        resolved_at: sql`now()`,
        resolved_by: input.actor.actor,
      })
      .where('merchant_id', '=', merchantId)
      .where('id', '=', input.noticeId)
      .execute();
  }
  return {
    kind: 'applied',
    shipmentId,
    orderId: order.id,
    orderNumber: order.order_number,
    fromStatus: order.status,
    status: change.status,
    alerts: alerts.map((a) => a.kind),
  };
}

const RETRYABLE = new Set(['40001', '40P01']);

/** Runs `fn` in a transaction, retrying a serialization failure or deadlock a few times. */
export async function inTransaction<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 3 || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
    }
  }
}
