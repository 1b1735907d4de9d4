/**
 * The one door of source connections into the orders: every create, change and lifecycle step a
 * pull makes goes through here, into the orders service (validate → normalise → rules → route →
 * store), the same path as the REST API, with the source as the actor.
 */
import type { Kysely } from 'kysely';
import type { DB, OrderStatus } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { MerchantEvent } from '../domain/lifecycle.js';
import type { Actor } from '../domain/order-events.js';
import {
  createOrders as createThroughPipeline,
  type IngestResult,
  type MerchantRef,
  replaceOrder,
  transitionOrder,
} from '../orders/service.js';

export type { IngestResult, MerchantRef };

export function sourceActor(sourceId: number): Actor {
  return { actor_type: 'system', actor: `source:${sourceId}` };
}

/**
 * Creates the orders of one page (a batch: each answers created, duplicate, conflict or invalid);
 * `withheld` (by index): orders to store withheld, and why (src/orders/withheld.ts).
 */
export function createOrders(
  db: Kysely<DB>,
  merchant: MerchantRef,
  sourceId: number,
  inputs: readonly unknown[],
  withheld?: ReadonlyMap<number, string>,
): Promise<IngestResult[]> {
  return createThroughPipeline(db, merchant, sourceActor(sourceId), inputs, true, withheld);
}

export type ChangeOutcome = { ok: true } | { ok: false; message: string };

/** Replaces a pulled order's content; a refusal (frozen lines, a closed order, bad input) is answered, not thrown. */
export async function replaceFromSource(
  db: Kysely<DB>,
  merchant: MerchantRef,
  sourceId: number,
  orderId: number,
  input: unknown,
): Promise<ChangeOutcome> {
  try {
    await replaceOrder(db, merchant, sourceActor(sourceId), orderId, input);
    return { ok: true };
  } catch (err) {
    if (err instanceof AppError && err.statusCode < 500) return { ok: false, message: describe(err) };
    throw err;
  }
}

/** A lifecycle step of a pulled order (cancel, hold, release, pay); a refused one is answered. */
export async function transitionFromSource(
  db: Kysely<DB>,
  merchant: MerchantRef,
  sourceId: number,
  orderId: number,
  event: MerchantEvent,
  reason: string,
): Promise<ChangeOutcome> {
  try {
    await transitionOrder(db, merchant, sourceActor(sourceId), orderId, event, reason);
    return { ok: true };
  } catch (err) {
    if (err instanceof AppError && err.statusCode < 500) return { ok: false, message: describe(err) };
    throw err;
  }
}

/** What the pull needs to know of its orders here: status, whether a store has served it, its number. */
export async function orderStates(
  db: Kysely<DB>,
  merchantId: number,
  ids: readonly number[],
): Promise<Map<number, { status: OrderStatus; served: boolean; orderNumber: string }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('orders')
    .select(['id', 'status', 'served_store_id', 'order_number'])
    .where('merchant_id', '=', merchantId)
    .where('id', 'in', [...ids])
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      { status: r.status, served: r.served_store_id !== null, orderNumber: r.order_number },
    ]),
  );
}

/** Our order of this merchant with that source and number, if any. */
export async function orderByNumber(
  db: Kysely<DB>,
  merchantId: number,
  source: string,
  number: string,
): Promise<number | null> {
  const row = await db
    .selectFrom('orders')
    .select('id')
    .where('merchant_id', '=', merchantId)
    .where('order_source', '=', source)
    .where('order_number', '=', number)
    .executeTakeFirst();
  return row?.id ?? null;
}

function describe(err: AppError): string {
  const details = err.details?.map((d) => `${d.path}: ${d.message}`).join('; ');
  return details ? `${err.message} (${details})` : err.message;
}
