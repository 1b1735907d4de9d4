/**
 * Applying one shipment notice to one order: the single code path of ShipStation's
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
import { inTransaction, isRetryableConflict } from '../db/transaction.js';
import { parseMoneyInput } from '../lib/money.js';
import { type Actor, insertOrderEvents } from '../domain/order-events.js';
import type { HeldFrom } from '../domain/lifecycle.js';
import { isShippedAtMove, shipmentFactsAppended } from '../domain/summary-facts.js';
import { lockOrderForWrite } from '../orders/lock.js';
import { type AllocationResult, allocateLines, idempotencyKey, type ShipmentFacts } from './facts.js';
import { isCovered, type StatusChange, statusAfterShipment } from './status.js';

export interface ApplyInput {
  merchantId: number;
  orderId: number;
  /** The store connection that received the notice. */
  storeId: number | null;
  noticeId: number | null;
  facts: ShipmentFacts;
  actor: Actor;
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

/** The order as applying a notice reads it. */
export interface ShipmentOrder {
  id: number;
  order_number: string;
  status: OrderStatus;
  held_from: string | null;
}

/** An order line as applying a notice reads it. */
export interface ShipmentLine {
  id: number;
  position: number;
  sku: string | null;
  quantity: number;
  shipped_quantity: number;
  adjustment: boolean;
  excluded: boolean;
}

/**
 * The order and its lines as one earlier statement read them (without a lock), with the version of
 * the order row that statement saw (its xmin, as text). See applyShipmentAt.
 */
export interface OrderSnapshot extends ShipmentOrder {
  version: string;
  lines: ShipmentLine[];
}

/**
 * Applies the notice: lock the order, read its lines, then write everything in ONE statement of
 * data-modifying CTEs — the shipment (ON CONFLICT DO NOTHING on its idempotency key), its lines, the
 * shipped quantities, the order's status and updated_at, the events, the alerts and the notice's
 * outcome. Every part after the insert hangs on the inserted row, so a repeat writes nothing but the
 * notice's 'duplicate' status. Five round trips in all (begin, lock, lines, write, commit).
 *
 * The lines are read in a statement of their own, after the lock is granted: under READ COMMITTED a
 * statement that waited for the row lock re-checks only the locked row (EvalPlanQual), so lines
 * read in the locking statement could be those of its pre-wait snapshot. (The hot path of
 * ShipStation's notices avoids this transaction altogether: applyShipmentAt.)
 */
export async function applyShipment(trx: Kysely<DB>, input: ApplyInput): Promise<ApplyOutcome> {
  const { merchantId } = input;
  const order = await lockOrderForWrite(trx, merchantId, input.orderId, { routing: false });
  if (!order) throw new Error(`order ${input.orderId} of merchant ${merchantId} not found`);
  const lines = await trx
    .selectFrom('order_lines')
    .select(['id', 'position', 'sku', 'quantity', 'shipped_quantity', 'adjustment', 'excluded'])
    .where('merchant_id', '=', merchantId)
    .where('order_id', '=', order.id)
    .orderBy('position')
    .execute();
  const write = shipmentWrite(input, order, lines, null);
  const { rows } = await write.query.execute(trx);
  return write.outcome(rows[0]);
}

/**
 * The optimistic single-statement apply: with the order and lines as an EARLIER statement read them
 * (`order.version` is the xmin of the order row it saw), ONE autocommit statement locks the order row
 * FOR UPDATE only if it is still that version, and writes everything exactly as applyShipment would,
 * hanging every write on that lock. One round trip instead of five (no begin, lock, lines, commit);
 * atomic as one statement. Null when the order row is no longer that version (or is gone): nothing
 * was written, and the caller applies the notice the locked way (applyShipment in a transaction).
 *
 * Why the earlier reads are still current once the lock is granted:
 * - Every transaction that changes what applying reads — the order's status, held_from or number,
 *   its lines (quantities, shipped quantities, SKUs, positions, lines added or removed) or its
 *   shipments — locks the order row FOR UPDATE first AND updates the order row (updated_at at least):
 *   the rule of orders/lock.ts, which every such writer goes through (applyShipment when it records a
 *   shipment, voidShipment, replaceOrder, transitionOrder; confirmShipments, routing and pinning
 *   lock and update set-wise). A repeat writes no order data.
 * - So if any such transaction committed after the earlier snapshot, the order row's latest version
 *   has another xmin than `version`. Our FOR UPDATE locks the latest version: when the row was
 *   updated after this statement's snapshot, or while we waited for the lock, READ COMMITTED
 *   re-checks the WHERE clause on the newest version (EvalPlanQual), `xmin = version` fails and the
 *   lock CTE is empty. A version written by one transaction is never followed by another version with
 *   the same xmin (a transaction's own intermediate versions are never seen by others).
 * - Once the lock is granted, no other writer of this order can commit until this statement has.
 * - A lock-only holder (a repeat, a person's apply that was refused) changes nothing; waiting for it
 *   and then finding the same version is correct.
 * The other reads in the statement (the prior shipment of a repeat) use this statement's snapshot,
 * which is newer than the earlier one and, with the version unchanged, holds every shipment of the
 * order. The raw notice's durability rule holds: this statement commits synchronously, and when it
 * writes nothing the caller's transaction does.
 */
export async function applyShipmentAt(
  db: Kysely<DB>,
  input: ApplyInput,
  order: OrderSnapshot,
): Promise<ApplyOutcome | null> {
  if (order.id !== input.orderId) throw new Error(`snapshot of order ${order.id} for order ${input.orderId}`);
  const write = shipmentWrite(input, order, order.lines, order.version);
  const { rows } = await write.query.execute(db);
  const row = rows[0];
  if (!row?.locked) return null;
  return write.outcome(row);
}

type WriteRow = { inserted: number | null; prior: number | null; locked: boolean };

/**
 * The write statement of one notice for an order and lines read under its lock (`version` null), or
 * read earlier at that order row `version` (the statement then takes the lock itself, see
 * applyShipmentAt), and how its answer becomes the outcome.
 */
function shipmentWrite(
  input: ApplyInput,
  order: ShipmentOrder,
  lines: readonly ShipmentLine[],
  version: string | null,
) {
  const { merchantId, facts } = input;
  const key = idempotencyKey({
    orderId: order.id,
    trackingNumber: facts.trackingNumber,
    items: facts.items,
    labelCreatedAt: facts.labelCreatedAt,
    shipDate: facts.shipDate,
    shippingCost: facts.shippingCost,
  });
  const result = allocateLines(
    lines.map((l) => ({ ...l, shipped: l.shipped_quantity })),
    facts.items,
  );
  const increments = result.allocations.filter((a) => a.applied > 0);
  const appliedBy = new Map(increments.map((a) => [a.lineId, a.applied]));
  const covered = isCovered(
    lines.map((l) => ({
      quantity: l.quantity,
      shipped: l.shipped_quantity + (appliedBy.get(l.id) ?? 0),
      adjustment: l.adjustment,
      excluded: l.excluded,
    })),
  );
  const change = statusAfterShipment(order.status, order.held_from as HeldFrom | null, covered);

  // Events and alerts name the shipment, whose id the statement makes: SHIPMENT stands for it in
  // messages, and `shipment_id` is added to every data object in SQL.
  const lineInfo = new Map(lines.map((l) => [l.id, l]));
  const events: { type: string; from: string | null; to: string | null; data: Record<string, unknown> }[] = [
    {
      type: 'shipment',
      from: null,
      to: null,
      data: {
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
    // held_from lets a void reopen an order shipped while on hold to the hold it came from.
    events.push({
      type: change.status,
      from: order.status,
      to: change.status,
      data: { held_from: order.held_from },
    });
  }
  const alerts = alertsFor(order, change, covered, result);
  const cost = facts.shippingCost === null ? null : (parseMoneyInput(facts.shippingCost) ?? null);
  const m = merchantId;

  const parts = [];
  if (version !== null) {
    // The lock, taken only on the version the order and lines were read at (see applyShipmentAt).
    parts.push(sql`order_lock as materialized (
      select id from orders
      where merchant_id = ${m} and id = ${order.id} and xmin = ${version}::xid
      for update
    )`);
  }
  parts.push(sql`new_shipment as (
      insert into shipments (merchant_id, order_id, store_id, notice_id, carrier, service, tracking_number,
        ship_date, label_created_at, shipping_cost, notify_customer, idempotency_key)
      select ${m}::bigint, ${order.id}::bigint, ${input.storeId}::bigint, ${input.noticeId}::bigint,
        ${facts.carrier}::text, ${facts.service}::text, ${facts.trackingNumber}::text, ${facts.shipDate}::date,
        ${facts.labelCreatedAt}::timestamptz, ${cost}::numeric, ${facts.notifyCustomer}::boolean, ${key}::text
      ${version === null ? sql`` : sql`from order_lock`}
      on conflict (merchant_id, idempotency_key) do nothing
      returning id
    )`);
  if (result.allocations.length > 0) {
    parts.push(sql`new_shipment_lines as (
      insert into shipment_lines (merchant_id, shipment_id, order_line_id, quantity, requested_quantity)
      select ${m}, new_shipment.id, v.lid, v.q, v.r
      from new_shipment, (values ${sql.join(
        result.allocations.map((a) => sql`(${a.lineId}::bigint, ${a.applied}::int, ${a.requested}::int)`),
      )}) as v(lid, q, r)
    )`);
  }
  if (increments.length > 0) {
    parts.push(sql`shipped_lines as (
      update order_lines l set shipped_quantity = l.shipped_quantity + v.q
      from new_shipment, (values ${sql.join(increments.map((a) => sql`(${a.lineId}::bigint, ${a.applied}::int)`))}) as v(id, q)
      where l.merchant_id = ${m} and l.order_id = ${order.id} and l.id = v.id
    )`);
  }
  // The bump of orders/lock.ts: the order row is updated whenever a shipment is recorded.
  // With the summary facts (src/domain/summary-facts.ts): one more live shipment, recorded now()
  // like the shipment row, and the shipped instant when this notice ships the order.
  parts.push(sql`order_written as (
      update orders o set status = ${change.status}, held_from = ${change.held_from}, updated_at = now(),
        ${shipmentFactsAppended(
          sql`${facts.shipDate}::date`,
          sql`${cost}::numeric`,
          sql`now()`,
          isShippedAtMove(order.status, change.status) ? sql`now()` : null,
        )}
      from new_shipment where o.merchant_id = ${m} and o.id = ${order.id}
    )`);
  parts.push(sql`events as (
      ${insertOrderEvents(
        m,
        input.actor,
        sql`(
          select ${order.id}::bigint as order_id, v.type, v.from_status, v.to_status,
            v.data::jsonb || jsonb_build_object('shipment_id', new_shipment.id) as data
          from new_shipment, (values ${sql.join(
            events.map(
              (e) => sql`(${e.type}, ${e.from}::text, ${e.to}::text, ${JSON.stringify(e.data)}::text)`,
            ),
          )}) as v(type, from_status, to_status, data)
        ) e`,
      )}
    )`);
  if (alerts.length > 0) {
    parts.push(sql`alerts_raised as (
      insert into alerts (merchant_id, kind, message, order_id, store_id, notice_id, data)
      select ${m}, a.kind, replace(a.msg, ${SHIPMENT}, new_shipment.id::text), ${order.id}, ${input.storeId}::bigint,
        ${input.noticeId}::bigint, a.d::jsonb || jsonb_build_object('shipment_id', new_shipment.id)
      from new_shipment, (values ${sql.join(
        alerts.map((a) => sql`(${a.kind}, ${a.message}, ${JSON.stringify(a.data)}::text)`),
      )}) as a(kind, msg, d)
    )`);
  }
  // The existing shipment a repeat names: committed before this transaction took the order lock
  // (every writer of this order's shipments holds it), so this statement's snapshot sees it.
  parts.push(sql`prior_shipment as (
      select id from shipments where merchant_id = ${m} and idempotency_key = ${key}
    )`);
  if (input.noticeId !== null) {
    const reason = input.matchedBy ? `matched by ${input.matchedBy}` : null;
    parts.push(sql`notice_resolved as (
      update ship_notices n set
        status = case when exists (select 1 from new_shipment) then 'applied' else 'duplicate' end,
        order_id = ${order.id},
        shipment_id = coalesce((select id from new_shipment), (select id from prior_shipment)),
        reason = case when exists (select 1 from new_shipment) then ${reason}::text
          else 'the same notice as shipment ' || (select id from prior_shipment) || ': nothing changed' end,
        resolved_at = now(),
        resolved_by = ${input.actor.actor}
      where n.merchant_id = ${m} and n.id = ${input.noticeId}${
        version === null ? sql`` : sql` and exists (select 1 from order_lock)`
      }
    )`);
  }
  const query = sql<WriteRow>`
    with ${sql.join(parts)}
    select (select id from new_shipment) as inserted, (select id from prior_shipment) as prior, ${
      version === null ? sql`true` : sql`exists (select 1 from order_lock)`
    } as locked
  `;

  const outcome = (row: WriteRow | undefined): ApplyOutcome => {
    const shipmentId = row?.inserted ?? row?.prior;
    if (shipmentId === null || shipmentId === undefined)
      throw new Error('shipment neither inserted nor found');
    if (row?.inserted === null) {
      return {
        kind: 'duplicate',
        shipmentId,
        orderId: order.id,
        orderNumber: order.order_number,
        fromStatus: order.status,
        status: order.status,
        alerts: [],
      };
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
  };
  return { query, outcome };
}

/** Stands for the new shipment's id in alert messages (replaced in SQL). */
const SHIPMENT = '{shipment_id}';

function alertsFor(
  order: { id: number; order_number: string; status: OrderStatus },
  change: StatusChange,
  covered: boolean,
  result: AllocationResult,
): { kind: string; message: string; data: Record<string, unknown> }[] {
  const alerts: { kind: string; message: string; data: Record<string, unknown> }[] = [];
  const where = `order ${order.order_number} (id ${order.id}), shipment ${SHIPMENT}`;
  if (change.alert) {
    alerts.push({
      kind: change.alert.kind,
      message: `${change.alert.message}: ${where}`,
      data: { status: order.status, covered },
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
  return alerts;
}

/**
 * Applies a notice for `input.orderId`: in one autocommit statement when an earlier statement read
 * the order and its lines (`snapshot`, see applyShipmentAt), else — or when the order changed since,
 * or that statement hit a deadlock or serialization failure (it then wrote nothing) — the locked
 * way, in a transaction of its own.
 */
export async function applyShipmentWithSnapshot(
  db: Kysely<DB>,
  input: ApplyInput,
  snapshot: OrderSnapshot | undefined,
): Promise<ApplyOutcome> {
  if (snapshot !== undefined) {
    try {
      const outcome = await applyShipmentAt(db, input, snapshot);
      if (outcome !== null) return outcome;
    } catch (err) {
      if (!isRetryableConflict(err)) throw err;
    }
  }
  return inTransaction(db, (trx) => applyShipment(trx, input));
}
