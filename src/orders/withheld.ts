/**
 * Withheld orders: stored, but kept out of routing (exported nowhere) and out of shipment-notice
 * matching by number until a person releases them. A door that cannot tell whether an order should
 * ship withholds it rather than drop it or guess: a pulled order whose number another order of its
 * source already has, a split or merged child of orders already pulled. `orders.withheld` holds why;
 * routing reads it before the rules (orderRouteOf in src/stores/assign.ts, its pure twin routeWith in
 * src/rules/effective.ts), so the order is unrouted with that reason. Releasing it (the orders
 * service's releaseWithheld) clears it and routes the order as usual.
 */
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { type Actor, writeOrderEvents } from '../domain/order-events.js';

/** The order event of an order stored withheld (data: its reason). */
export const WITHHELD_EVENT = 'withheld';
/** The order event of a person releasing a withheld order (data: the reason it was withheld for). */
export const RELEASED_EVENT = 'withheld_released';

/**
 * Marks orders created in this transaction (not routed yet) withheld, with an event each. Call it
 * before routing them.
 */
export async function withholdCreated(
  trx: Kysely<DB>,
  merchantId: number,
  actor: Actor,
  orders: readonly { id: number; reason: string }[],
): Promise<void> {
  if (orders.length === 0) return;
  const sorted = [...orders].sort((a, b) => a.id - b.id);
  await sql`
    update orders o set withheld = w.reason, updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(sorted)}::jsonb) as w(id bigint, reason text)
    where o.merchant_id = ${merchantId} and o.id = w.id
  `.execute(trx);
  await writeOrderEvents(
    trx,
    merchantId,
    actor,
    sorted.map((o) => ({
      order_id: o.id,
      type: WITHHELD_EVENT,
      from_status: null,
      to_status: null,
      data: { reason: o.reason },
    })),
  );
}
