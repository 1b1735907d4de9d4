/**
 * The one way to change an order: lock its row, then write it.
 *
 * Every writer of an order's status, lines or shipments must
 *   1. lock the order row FOR UPDATE before it reads what it decides on (lockOrderForWrite), and
 *   2. update the order row in the same transaction (updated_at at least: updateLockedOrder, or a
 *      set-wise statement that does the same under the same lock).
 * Both halves matter. The lock orders concurrent writers of one order one after the other (lock
 * order of every write: merchant routing lock when routing follows, then the order, then its lines,
 * shipments and notices). The update gives the row a new version, and that is what the optimistic
 * paths rely on: a shipment notice applied in one statement (shipments/apply.ts applyShipmentAt)
 * and an export page (shipstation/export.ts) check that the order row is still the version they
 * read; a writer that changed lines or shipments without updating the row would let them act on
 * stale lines. A writer that finds nothing to change (a repeat, a refusal) may leave the row alone.
 *
 * Set-wise writers (routing, re-evaluation) lock many orders in one statement with
 * lockOrdersInIdOrder (src/domain/order-lock.ts): the same rule — every row they change locked
 * FOR UPDATE before it is written, in ascending id — as a SQL fragment. It sits one layer down
 * because routing (src/stores/) may not import this folder.
 */
import { type Kysely, sql, type UpdateObject } from 'kysely';
import type { DB, OrderRow } from '../db/schema.js';
import { lockMerchantForRouting } from '../stores/assign.js';

declare const lockedOrder: unique symbol;

/** An order row read under its write lock; only lockOrderForWrite makes one. */
export type LockedOrder = OrderRow & { readonly [lockedOrder]: true };

/**
 * Locks order `orderId` of the merchant for a write and answers its row (undefined when the
 * merchant has no such order). With `routing` (the writer routes the order afterwards), the
 * merchant's routing share lock is taken first, in a statement of its own, so that routing sees
 * every store change committed before it and a concurrent store change, which holds that lock
 * while it re-routes (and locks orders), cannot deadlock with us.
 */
export async function lockOrderForWrite(
  trx: Kysely<DB>,
  merchantId: number,
  orderId: number,
  opts: { routing: boolean },
): Promise<LockedOrder | undefined> {
  if (opts.routing) await lockMerchantForRouting(trx, merchantId);
  const row = await trx
    .selectFrom('orders')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('id', '=', orderId)
    .forUpdate()
    .executeTakeFirst();
  return row as LockedOrder | undefined;
}

/**
 * What a writer may change on the order row (values or SQL expressions such as now()); updated_at
 * always moves (now()).
 */
export type OrderChange = Omit<UpdateObject<DB, 'orders'>, 'merchant_id' | 'id' | 'updated_at'>;

/** Writes `change` to a locked order and moves its updated_at (the bump every writer makes). */
export async function updateLockedOrder(
  trx: Kysely<DB>,
  order: LockedOrder,
  change: OrderChange,
): Promise<void> {
  await trx
    .updateTable('orders')
    .set({ ...change, updated_at: sql<Date>`now()` })
    .where('merchant_id', '=', order.merchant_id)
    .where('id', '=', order.id)
    .execute();
}
