/**
 * Order events: the one writer of `order_events` and the one `Actor` type.
 *
 * Writers that hold their events in JavaScript call writeOrderEvents (one statement, whatever the
 * count). Single-statement writers (batch ingestion, routing, the export page, a shipment notice)
 * build their events in SQL as a relation and wrap it in insertOrderEvents, so the column list and
 * the actor columns are written here only.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DB, OrderEventsTable, OrderStatus } from '../db/schema.js';

/** Who made a change: an API credential, a ShipStation store, the system, or the operator. */
export type ActorType = OrderEventsTable['actor_type'];

export interface Actor {
  actor_type: ActorType;
  /** The credential's api_user, the store's id, the system part ('routing'…), or 'admin'. */
  actor: string;
}

/** The actor of routing decisions (order events of type 'routed'). */
export const ROUTING_ACTOR: Actor = { actor_type: 'system', actor: 'routing' };

/** The actor of what a store connection's requests do (export pages, shipment notices). */
export const storeActor = (storeId: number): Actor => ({ actor_type: 'store', actor: String(storeId) });

export interface OrderEvent {
  order_id: number;
  type: string;
  from_status: OrderStatus | null;
  to_status: OrderStatus | null;
  data: Record<string, unknown> | null;
}

/**
 * `insert into order_events …` from `events`, a FROM item (a subquery or function call, aliased
 * `e`) with the columns order_id, type, from_status, to_status and data. Rows are inserted in the
 * order the relation yields them (event ids follow it).
 */
export function insertOrderEvents(merchantId: number, actor: Actor, events: RawBuilder<unknown>) {
  return insertEvents(merchantId, sql`${actor.actor_type}::text, ${actor.actor}::text`, events);
}

/**
 * insertOrderEvents for a relation whose events have different actors: `events` also has the
 * columns actor_type and actor (write them with actorColumns), e.g. a statement that writes what
 * the rules did and where routing then sent the order.
 */
export function insertOrderEventsOfActors(merchantId: number, events: RawBuilder<unknown>) {
  return insertEvents(merchantId, sql`e.actor_type, e.actor`, events);
}

/** `<actor_type> as actor_type, <actor> as actor`, for a relation of insertOrderEventsOfActors. */
export const actorColumns = (actor: Actor) =>
  sql`${actor.actor_type}::text as actor_type, ${actor.actor}::text as actor`;

function insertEvents(merchantId: number, actor: RawBuilder<unknown>, events: RawBuilder<unknown>) {
  return sql`insert into order_events (merchant_id, order_id, type, from_status, to_status, actor_type, actor, data)
    select ${merchantId}::bigint, e.order_id, e.type, e.from_status, e.to_status, ${actor}, e.data
    from ${events}`;
}

/**
 * Writes events held in JavaScript, in one statement (one JSON parameter: no parameter limit),
 * sorted by order id (stable: one order's events keep their order), so that concurrent writers
 * take the foreign-key locks on their orders in one order.
 */
export async function writeOrderEvents(
  trx: Kysely<DB>,
  merchantId: number,
  actor: Actor,
  events: readonly OrderEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await insertOrderEvents(
    merchantId,
    actor,
    sql`jsonb_to_recordset(${JSON.stringify([...events].sort((a, b) => a.order_id - b.order_id))}::jsonb)
      as e(order_id bigint, type text, from_status text, to_status text, data jsonb)`,
  ).execute(trx);
}
