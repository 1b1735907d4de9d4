import { sql } from 'kysely';
import type { AppContext } from '../context.js';
import type { Store } from '../db/schema.js';
import { isCredentialParam } from '../http/credentials.js';
import { storeActor } from '../domain/order-events.js';
import { type ApplyOutcome, applyShipmentWithSnapshot, type OrderSnapshot } from '../shipments/apply.js';
import type { ShipmentFacts } from '../shipments/facts.js';
import { parseNoticeBody } from './notice-body.js';
import {
  chooseOrder,
  matchSteps,
  type NoticeOrderKeys,
  type OrderCandidate,
  stepKeys,
} from './notice-matching.js';
import { markUnmatched } from './unmatched.js';

export interface ShipNotifyRequest {
  /** The query string parameters, credentials already removed. */
  query: Record<string, string>;
  /** The raw body, whatever the content type ('' when none). */
  body: string;
  contentType: string | null;
}

export interface ShipNotifyResult {
  /** 200 when the notice was applied (or was a repeat), 404 when unmatched, 400 when unreadable. */
  status: number;
  /** A short human-readable message; the routes wrap it in XML. */
  message: string;
  noticeId: number | undefined;
  /** What became of the notice (a bounded metrics label). */
  outcome: 'applied' | 'duplicate' | 'unmatched' | 'unreadable';
}

/** PostgreSQL text and jsonb cannot hold NUL: replace it, so a notice is never lost to it. */
const storable = (s: string): string => (s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s);

/** Up to this many candidate orders, the notice's statement also reads their lines (applyShipmentAt). */
const SNAPSHOT_CANDIDATES = 4;

/** The query as stored: credentials removed (whatever their letter case), NUL replaced. */
export function storableQuery(query: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (isCredentialParam(k)) continue;
    out[storable(k)] = storable(String(v));
  }
  return out;
}

/** A query parameter by name, any letter case; trimmed, '' → null. */
function param(query: Record<string, string>, name: string): string | null {
  for (const [k, v] of Object.entries(query)) {
    if (k.toLowerCase() === name) {
      const t = v.trim();
      return t === '' ? null : t;
    }
  }
  return null;
}

/** What a stored notice says: the order keys and the shipment facts, or why it cannot be read. */
export type InterpretedNotice =
  | { ok: true; keys: NoticeOrderKeys; facts: ShipmentFacts; fromBody: boolean }
  | { ok: false; reason: string };

/**
 * Query and body together: carrier and tracking number from the query, else the body; the
 * service from the query when non-empty, else the body. An empty body falls back to the query
 * alone and ships every line (FM19).
 */
export function interpretNotice(
  query: Record<string, string>,
  body: string,
  contentType: string | null,
  zone: string,
): InterpretedNotice {
  const q = {
    orderNumber: param(query, 'order_number'),
    carrier: param(query, 'carrier'),
    service: param(query, 'service'),
    tracking: param(query, 'tracking_number'),
  };
  if (body.trim() === '') {
    return {
      ok: true,
      fromBody: false,
      keys: { orderId: null, orderNumber: null, queryOrderNumber: q.orderNumber },
      facts: {
        carrier: q.carrier,
        service: q.service,
        trackingNumber: q.tracking,
        shipDate: null,
        labelCreatedAt: null,
        shippingCost: null,
        notifyCustomer: null,
        items: null,
      },
    };
  }
  const parsed = parseNoticeBody(body, contentType, zone);
  if (!parsed.ok) return { ok: false, reason: `the ShipNotice body cannot be read: ${parsed.error}` };
  const n = parsed.notice;
  return {
    ok: true,
    fromBody: true,
    keys: { orderId: n.orderId, orderNumber: n.orderNumber, queryOrderNumber: q.orderNumber },
    facts: {
      carrier: q.carrier ?? n.carrier,
      service: q.service ?? n.service,
      trackingNumber: q.tracking ?? n.trackingNumber,
      shipDate: n.shipDate,
      labelCreatedAt: n.labelCreateDate,
      shippingCost: n.shippingCost,
      notifyCustomer: n.notifyCustomer,
      items: n.items,
    },
  };
}

/**
 * Stores the raw notice, then matches and applies it.
 *
 * 1. The body is read (pure) to know which orders to look at.
 * 2. ONE statement, committed on its own, inserts the request (query without credentials, content
 *    type, body) into ship_notices, moves the store's last_notice_at (at most once a second: a hot
 *    row), and loads the candidate orders (when few, with their lines): the notice is kept whatever
 *    happens next.
 * 3. Unreadable body → the notice stays 'unmatched' with the reason, 400.
 * 4. The order is chosen (notice-matching.ts); none or ambiguous → 'unmatched' with the reason, 404.
 * 5. The shipment is applied (shipments/apply.ts): 200, also for a repeat. Usually in ONE statement
 *    on the order and lines step 2 read (applyShipmentAt); when the order changed since, in a
 *    transaction that locks the order first (applyShipment).
 */
export async function handleShipNotify(
  ctx: AppContext,
  store: Store,
  req: ShipNotifyRequest,
): Promise<ShipNotifyResult> {
  const query = storableQuery(req.query);
  const body = storable(req.body);
  const contentType = req.contentType === null ? null : storable(req.contentType);
  const notice = interpretNotice(query, body, contentType, store.timezone);
  const steps = notice.ok ? matchSteps(notice.keys, store.order_number_prefix) : [];
  const { ids, numbers } = stepKeys(steps);
  const orderNumber = notice.ok
    ? (notice.keys.queryOrderNumber ?? notice.keys.orderNumber)
    : param(query, 'order_number');
  const tracking = notice.ok ? notice.facts.trackingNumber : param(query, 'tracking_number');

  // Durability without a second disk flush: this statement's own commit does not wait for its WAL
  // flush (synchronous_commit off for this one transaction), but every path below ends in a
  // synchronous commit (applied, duplicate, unmatched) whose flush covers this earlier WAL, so no
  // answer ever leaves before the raw notice is on disk. One round trip.
  //
  // When the candidates are few, the same statement also reads each one's status, lines and row
  // version (xmin): the chosen order is then applied in ONE more statement (applyShipmentAt), which
  // locks the order only if it is still that version, else the locked way. Candidates are read
  // without a lock here, on purpose: the notice must commit first, whatever happens next.
  const { rows } = await sql<{ id: number; candidates: OrderCandidate[]; snapshots: OrderSnapshot[] | null }>`
    with async_commit as (select set_config('synchronous_commit', 'off', true) as v),
    notice as (
      insert into ship_notices (merchant_id, store_id, query, content_type, body, order_number, tracking_number)
      values (${store.merchant_id}, ${store.id}, ${JSON.stringify(query)}::jsonb, ${contentType}, ${body},
        ${orderNumber}, ${tracking})
      returning id
    ),
    store_touched as (
      update stores set last_notice_at = now()
      where merchant_id = ${store.merchant_id} and id = ${store.id}
        and (last_notice_at is null or last_notice_at < now() - interval '1 second')
    ),
    candidates as (
      ${candidatesOf(store.merchant_id, ids, numbers)}
      limit 1000
    )
    select notice.id, async_commit.v, coalesce((
      select json_agg(json_build_object('id', c.id, 'order_number', c.order_number,
        'served_store_id', c.served_store_id))
      from candidates c
    ), '[]') as candidates, (
      select json_agg(json_build_object('id', c.id, 'order_number', c.order_number, 'status', c.status,
        'held_from', c.held_from, 'version', c.version, 'lines', coalesce((
          select json_agg(json_build_object('id', l.id, 'position', l.position, 'sku', l.sku,
            'quantity', l.quantity, 'shipped_quantity', l.shipped_quantity, 'adjustment', l.adjustment,
            'excluded', l.excluded)
            order by l.position)
          from order_lines l where l.merchant_id = ${store.merchant_id} and l.order_id = c.id
        ), '[]')))
      from candidates c where (select count(*) from candidates) <= ${SNAPSHOT_CANDIDATES}
    ) as snapshots
    from notice, async_commit
  `.execute(ctx.db);
  const noticeId = rows[0]!.id;

  try {
    if (!notice.ok) {
      await markUnmatched(ctx.db, store.merchant_id, noticeId, notice.reason);
      return {
        status: 400,
        message: `${notice.reason} (stored as notice ${noticeId})`,
        noticeId,
        outcome: 'unreadable',
      };
    }
    const match = chooseOrder(steps, rows[0]!.candidates, store.id);
    if (!match.ok) {
      await markUnmatched(ctx.db, store.merchant_id, noticeId, match.reason);
      return {
        status: 404,
        message: `${match.reason} (stored as notice ${noticeId}; a person can apply it to an order)`,
        noticeId,
        outcome: 'unmatched',
      };
    }
    const outcome = await applyShipmentWithSnapshot(
      ctx.db,
      {
        merchantId: store.merchant_id,
        orderId: match.orderId,
        storeId: store.id,
        noticeId,
        facts: notice.facts,
        actor: storeActor(store.id),
        matchedBy: match.step,
      },
      rows[0]!.snapshots?.find((o) => o.id === match.orderId),
    );
    return {
      status: 200,
      message: outcomeMessage(outcome),
      noticeId,
      outcome: outcome.kind === 'duplicate' ? 'duplicate' : 'applied',
    };
  } catch (err) {
    // Keep the notice listed for a person; the endpoint logs the error and answers 500.
    await markUnmatched(
      ctx.db,
      store.merchant_id,
      noticeId,
      'could not be applied (internal error); apply it again',
    ).catch(() => undefined);
    throw err;
  }
}

export function outcomeMessage(o: ApplyOutcome): string {
  if (o.kind === 'duplicate') {
    return `already recorded as shipment ${o.shipmentId} of order ${o.orderNumber}; nothing changed`;
  }
  const status =
    o.status === o.fromStatus ? `order stays ${o.status}` : `order ${o.fromStatus} → ${o.status}`;
  const alerts = o.alerts.length > 0 ? `; alerts: ${o.alerts.join(', ')}` : '';
  return `shipment ${o.shipmentId} recorded for order ${o.orderNumber}; ${status}${alerts}`;
}

/**
 * The merchant's orders a notice may be about: by our id, or by order number (whatever the source;
 * never a withheld order, which ShipStation has not been given: src/orders/withheld.ts), one index
 * probe per id or number (see db/keyed.ts). A number is probed on the
 * (order_number, order_source, merchant_id) key with the merchant as a plain filter: with the merchant
 * as an index condition, stale statistics can make a scan of the merchant's primary-key range look as
 * cheap. The probe reads the orders bearing that number, of any merchant: a handful.
 */
function candidatesOf(merchantId: number, ids: readonly number[], numbers: readonly string[]) {
  const columns = sql`o.id, o.order_number, o.served_store_id, o.status, o.held_from, o.version`;
  return sql`
    select ${columns} from unnest(${ids}::bigint[]) as k(id)
    cross join lateral (
      select x.*, x.xmin::text as version from orders x where x.merchant_id = ${merchantId} and x.id = k.id offset 0
    ) o
    union
    select ${columns} from unnest(${numbers}::text[]) as k(n)
    cross join lateral (
      select x.*, x.xmin::text as version from orders x
      where x.order_number = k.n and x.merchant_id is not distinct from ${merchantId}::bigint
        and x.withheld is null offset 0
    ) o`;
}
