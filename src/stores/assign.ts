import { type Kysely, type RawBuilder, sql } from 'kysely';
import { ordersById } from '../db/keyed.js';
import type { DB } from '../db/schema.js';
import { insertOrderEvents, ROUTING_ACTOR } from '../domain/order-events.js';
import { CLOSED_STATUSES_SQL } from '../domain/lifecycle-sql.js';
import { lockOrdersInIdOrder } from '../domain/order-lock.js';
import { NO_CONNECTIONS, STORE_FILTERS, type StoreFilterField } from './routing.js';

/**
 * Persistence of routing, set-wise in SQL. The SQL below is the database twin of routeWith() in
 * src/rules/effective.ts (the rules' decision, then routeOrder() of routing.ts): the same filter,
 * the same order of connections, the same reason text. The property test checks that they agree.
 *
 * Only unpinned orders (served_store_id null) whose status is not canceled, shipped or confirmed are
 * (re)routed. The orders that change are locked `FOR UPDATE` in id order — the lock the export takes,
 * in the same order, when it pins a page — and re-checked (`served_store_id is null`) under the lock, so an order re-routed while a store
 * walks its pages is not served by the old store, and an order pinned meanwhile does not move.
 * When an order's store (or its unrouted state) changes, store_id, routing_reason, last_modified and
 * updated_at move and a 'routed' order event is written, all in one statement; when only the reason
 * text changes (a refusing store was renamed…), routing_reason and updated_at move; otherwise nothing
 * is written.
 */

export interface RoutingOutcome {
  /** Orders whose routing was written (store change or reason change). */
  changed: number;
  /** Orders that moved to another store, or between routed and unrouted. */
  moved: number;
}

/**
 * The routing hook: called inside the transaction of every order create and change, with the ids of
 * the orders just written. Takes a share lock on the merchant row first, so routing waits for a
 * store-connection change of the same merchant that is in flight and then sees it.
 */
export async function routeOrders(
  trx: Kysely<DB>,
  merchantId: number,
  orderIds: readonly number[],
): Promise<void> {
  if (orderIds.length === 0) return;
  await lockMerchantForRouting(trx, merchantId);
  await routeOrdersLocked(trx, merchantId, orderIds);
}

/**
 * routeOrders for a transaction that already holds the merchant's routing share lock, taken in an
 * EARLIER statement of the same transaction (READ COMMITTED takes a new snapshot per statement, so
 * routing then sees any store-connection change that committed before the lock was granted), e.g.
 * with merchantRoutingLock(). One statement fewer than routeOrders.
 */
export async function routeOrdersLocked(
  trx: Kysely<DB>,
  merchantId: number,
  orderIds: readonly number[],
): Promise<void> {
  if (orderIds.length === 0) return;
  const ids = [...new Set(orderIds)].sort((a, b) => a - b);
  await assign(trx, merchantId, ids);
}

/**
 * The share lock routeOrders takes on the merchant row. An order transaction that changes existing
 * orders may call it first, before touching them: it then can never deadlock with a concurrent
 * store-connection change of the same merchant (which holds the merchant lock while it re-routes).
 */
export async function lockMerchantForRouting(trx: Kysely<DB>, merchantId: number): Promise<void> {
  await merchantRoutingLock(merchantId).execute(trx);
}

/**
 * The same share lock as lockMerchantForRouting, as a query fragment to embed in a caller's own
 * statement (e.g. a CTE whose rows are counted, so it is evaluated) before routeOrdersLocked.
 */
export function merchantRoutingLock(merchantId: number, condition: RawBuilder<unknown> = sql`true`) {
  return sql`select 1 from merchants where id = ${merchantId} and ${condition} for share`;
}

/**
 * Re-routes every unpinned, open order of a merchant after one of its store connections was created,
 * changed (filters, priority) or retired. Call it in the transaction that made the change, after
 * lockMerchantStores().
 */
export async function rerouteMerchant(trx: Kysely<DB>, merchantId: number): Promise<RoutingOutcome> {
  return assign(trx, merchantId, null);
}

/**
 * Serialises store-connection changes of one merchant, and orders routing behind them (routeOrders
 * takes a share lock on the same row). `for no key update` does not block the foreign-key checks of
 * rows that reference the merchant.
 */
export async function lockMerchantStores(trx: Kysely<DB>, merchantId: number): Promise<void> {
  await sql`select 1 from merchants where id = ${merchantId} for no key update`.execute(trx);
}

/**
 * What the rules decided about routing order `o` (RuleRoute of src/rules/effective.ts, stored with
 * the effective order): held or skipped (unrouted with its reason), a rule's store (taken when
 * live, else unrouted with its reason), or null: the store filters decide. `o.tags` holds the
 * effective tags (what the rules left), which the filters match.
 */
// (A stored effective whose rules left routing to the filters holds `"route": null`, which
// `->` answers as the jsonb value null, not SQL NULL: nullif makes both one "no decision".)
export const ruleRouteOf = (effective: RawBuilder<unknown>) =>
  sql`nullif(${effective} -> 'route', 'null'::jsonb)`;

/**
 * What decides an order's routing before the store filters, as routing reads it (`rule_route`): an
 * order withheld until a person releases it (`orders.withheld`, its reason) is unrouted whatever
 * the rules say; otherwise what the rules decided (ruleRouteOf). The pure twin is routeWith() of
 * src/rules/effective.ts with its `withheld` argument.
 */
export const orderRouteOf = (withheld: RawBuilder<unknown>, effective: RawBuilder<unknown>) =>
  sql`case when ${withheld} is not null then jsonb_build_object('kind', 'withheld', 'reason', ${withheld})
    else ${ruleRouteOf(effective)} end`;
const RULE_ROUTE = orderRouteOf(sql`o.withheld`, sql`o.effective`);

/**
 * The SQL twin of each filter of routing.ts STORE_FILTERS, for a connection `s` and an order `o`:
 * when it refuses the order, and its reason text (the same text as the pure refusal()).
 */
const FILTER_SQL: Record<StoreFilterField, { refuses: RawBuilder<boolean>; reason: RawBuilder<string> }> = {
  order_sources: {
    refuses: sql<boolean>`(cardinality(s.order_sources) > 0 and not (o.order_source = any(s.order_sources)))`,
    reason: sql<string>`'order_source ''' || o.order_source || ''' not in [' || array_to_string(s.order_sources, ', ') || ']'`,
  },
  include_tags: {
    refuses: sql<boolean>`(cardinality(s.include_tags) > 0 and not (o.tags && s.include_tags))`,
    reason: sql<string>`'has none of the tags [' || array_to_string(s.include_tags, ', ') || ']'`,
  },
  exclude_tags: {
    refuses: sql<boolean>`(o.tags && s.exclude_tags)`,
    reason: sql<string>`(
      select case when count(*) = 1 then 'has excluded tag ' else 'has excluded tags ' end
        || string_agg(x.t, ', ' order by x.i)
      from unnest(s.exclude_tags) with ordinality as x(t, i)
      where x.t = any(o.tags)
    )`,
  },
};

/** Connection `s` accepts order `o`: no filter refuses it (routing.ts refusal() === null). */
const ACCEPTS = sql.join(
  STORE_FILTERS.map((f) => sql`not ${FILTER_SQL[f.field].refuses}`),
  sql` and `,
);

/** Why connection `s` refuses order `o` (only evaluated for refusing ones): routing.ts refusal(). */
const REFUSAL = sql`case ${sql.join(
  STORE_FILTERS.map((f) => sql`when ${FILTER_SQL[f.field].refuses} then ${FILTER_SQL[f.field].reason}`),
  sql` `,
)} end`;

/**
 * The CTEs that decide where the rows of `routable` go — `live_stores`, `order_kinds`, `decisions` —
 * to embed after it in a WITH list (`with routable as (…), ${routingDecisions(m, sql`routable`)}, …`).
 * `routable` is a relation of the merchant's unpinned, open orders with at least the columns
 * `order_source`, `tags` (the effective tags) and `rule_route` (ruleRouteOf their stored or new
 * effective). `decisions` answers one row per distinct (order_source, tags, rule_route) — a merchant
 * has few — with `new_store_id` and `new_reason`: what routeWith() of src/rules/effective.ts says.
 * Join a row `r` to its decision `d` with DECISION_OF_ROW. The one definition of set-wise routing:
 * routing (assign below) and re-evaluation (orders/repository.ts writeEffectiveAndRoute) both use it.
 */
export function routingDecisions(merchantId: number, routable: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`live_stores as materialized (
      select s.id, s.name, s.order_sources, s.include_tags, s.exclude_tags, s.priority, s.created_at
      from stores s
      where s.merchant_id = ${merchantId} and s.retired_at is null
    ),
    order_kinds as (
      select distinct r.order_source, r.tags, r.rule_route from ${routable} r
    ),
    decisions as materialized (
      select o.order_source, o.tags, o.rule_route,
        case when o.rule_route is null then pick.id
          when o.rule_route ->> 'kind' = 'store' then rule_store.id
        end as new_store_id,
        case when o.rule_route is null then
            case when pick.id is not null then null
              else coalesce(
                (select string_agg('store ' || s.id || ' ''' || s.name || ''': ' || ${REFUSAL}, '; '
                          order by s.priority, s.created_at, s.id)
                 from live_stores s),
                ${NO_CONNECTIONS})
            end
          when o.rule_route ->> 'kind' = 'store' and rule_store.id is not null then null
          else o.rule_route ->> 'reason'
        end as new_reason
      from order_kinds o
      left join lateral (
        select s.id from live_stores s where o.rule_route is null and ${ACCEPTS}
        order by s.priority, s.created_at, s.id limit 1
      ) pick on true
      left join lateral (
        select s.id from live_stores s where s.id = (o.rule_route ->> 'store_id')::bigint
      ) rule_store on true
    )`;
}

/** Joins routable row `r` to its decision `d` (routingDecisions). */
export const DECISION_OF_ROW = sql`d.order_source = r.order_source and d.tags = r.tags
  and d.rule_route is not distinct from r.rule_route`;

/**
 * Routing row `r` (its current `store_id`, `routing_reason`) as decision `d` says changes something
 * to write: the store, or only the reason text.
 */
export const ROUTING_CHANGES = sql`(r.store_id is distinct from d.new_store_id
  or r.routing_reason is distinct from d.new_reason)`;

/**
 * Routing row `r` as decision `d` says moves it — to another store, or between routed and unrouted
 * (a new order, never routed, has neither store nor reason) —: last_modified moves and a 'routed'
 * event is written.
 */
export const ROUTING_MOVES = sql`(r.store_id is distinct from d.new_store_id
  or (r.store_id is null and r.routing_reason is null))`;

/** The data of a 'routed' event, from a row `x` with old_store_id, new_store_id and new_reason. */
export const routedEventData = (x: RawBuilder<unknown>) =>
  sql`jsonb_build_object('from_store_id', ${x}.old_store_id, 'store_id', ${x}.new_store_id, 'reason', ${x}.new_reason)`;

/** The type of the order event a routing move writes (with routedEventData, as ROUTING_ACTOR). */
export const ROUTED_EVENT = 'routed';

/**
 * Routes the given orders (ids sorted), or every order of the merchant (null). With ids, every read
 * and write of orders is one primary-key probe per id (ordersById, and the locked rows joined back
 * on their own merchant_id column, which the planner cannot turn into a scan of the merchant): the
 * statement is bounded by the batch, not by the merchant's size, whatever the statistics.
 */
async function assign(
  trx: Kysely<DB>,
  merchantId: number,
  ids: readonly number[] | null,
): Promise<RoutingOutcome> {
  const source =
    ids === null
      ? sql`orders o where o.merchant_id = ${merchantId} and`
      : sql`${ordersById(merchantId, ids)} where`;
  // Decisions are computed once per distinct (order_source, tags, rules' decision) — a merchant has
  // few — and joined back to the orders. Only the rows that change are locked, in id order (the order the export locks a
  // page in, so the two never deadlock), and the UPDATE re-checks that each is still unpinned, open and
  // as it was read: a row changed meanwhile by someone else (pinned by an export, canceled…) is left as
  // that change made it.
  const result = await sql<{ changed: number; moved: number }>`
    with routable as materialized (
      select o.id, o.order_source, o.tags, ${RULE_ROUTE} as rule_route, o.store_id, o.routing_reason
      from ${source} o.served_store_id is null
        and o.status not in (${CLOSED_STATUSES_SQL})
    ),
    ${routingDecisions(merchantId, sql`routable`)},
    to_change as materialized (
      select r.id, r.order_source, r.tags, r.rule_route, r.store_id as old_store_id, d.new_store_id, d.new_reason,
        ${ROUTING_MOVES} as moved
      from routable r
      join decisions d on ${DECISION_OF_ROW}
      where ${ROUTING_CHANGES}
    ),
    locked as materialized (${lockOrdersInIdOrder(merchantId, sql`to_change`)}),
    rerouted as (
      update orders o
      set store_id = d.new_store_id,
          routing_reason = d.new_reason,
          last_modified = case when d.moved then now() else o.last_modified end,
          updated_at = now()
      from locked d
      where o.merchant_id = d.merchant_id and o.id = d.id
        and o.served_store_id is null
        and o.status not in (${CLOSED_STATUSES_SQL})
        -- order_source never changes after creation (PUT refuses it), so it is not re-checked: a
        -- condition on it would also tempt the planner into the (merchant, source, number) index.
        and o.tags = d.tags
        and ${RULE_ROUTE} is not distinct from d.rule_route
        and o.store_id is not distinct from d.old_store_id
      returning o.id, d.old_store_id, d.new_store_id, d.new_reason, d.moved
    ),
    events as (
      ${insertOrderEvents(
        merchantId,
        ROUTING_ACTOR,
        sql`(
          select r.id as order_id, ${sql.lit(ROUTED_EVENT)} as type, null as from_status, null as to_status,
            ${routedEventData(sql`r`)} as data
          from rerouted r
          where r.moved
        ) e`,
      )}
    )
    select count(*)::int as changed, (count(*) filter (where r.moved))::int as moved from rerouted r
  `.execute(trx);
  const row = result.rows[0];
  return { changed: row?.changed ?? 0, moved: row?.moved ?? 0 };
}
