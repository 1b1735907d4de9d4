import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

/**
 * The routing hook (§4). Called inside the transaction of every order create and change, with the
 * ids of the orders just written. Assigns each unpinned, not canceled/shipped/confirmed order to the
 * first accepting store connection of its merchant (store_id), or leaves it unrouted with a reason
 * (routing_reason), moving last_modified and updated_at when the assignment changes.
 *
 * PLACEHOLDER until the routing issue lands: marks the orders unrouted.
 */
export async function routeOrders(trx: Kysely<DB>, merchantId: number, orderIds: readonly number[]): Promise<void> {
  if (orderIds.length === 0) return;
  await trx
    .updateTable('orders')
    .set({ routing_reason: 'routing is not implemented yet' })
    .where('merchant_id', '=', merchantId)
    .where('id', 'in', orderIds)
    .where('served_store_id', 'is', null)
    .execute();
}
