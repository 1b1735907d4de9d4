import { type RawBuilder, sql } from 'kysely';

/**
 * Row sources for the hot statements that read a few of a merchant's orders by key, shaped so that
 * the plan reads those rows and nothing else, whatever the statistics say (autovacuum off, a
 * database analysed before a burst, a merchant that onboarded after the last ANALYZE).
 *
 * Why a shape and not a plain `where o.merchant_id = $m and o.id in (…)`: with stale statistics
 * the planner believes `merchant_id = $m` matches about one row, and then scanning the primary key
 * on the merchant alone (the ids as a filter) or hash-joining that scan with the key list looks
 * cheapest — and reads every order of the merchant. Here each key is a row of an `unnest` of ONE
 * bound array (no per-statement literal lists, one parameter whatever the count), joined LATERALLY to
 * a subquery that the planner cannot flatten (`offset 0`): the only plan is a nested loop with one
 * probe of the key's index per key. The subquery can lock (`for update`); rows are then locked in
 * the order of the keys, so callers pass ids sorted when the lock order matters.
 *
 * Used as `from ${ordersById(m, ids)}` (alias `o`, all orders columns, plus `k.i`: the key's
 * 1-based position in the array).
 */
export function ordersById(
  merchantId: number,
  ids: readonly number[] | RawBuilder<unknown>,
  opts: { lock?: boolean } = {},
): RawBuilder<unknown> {
  return rowsById('orders', 'o', merchantId, ids, opts);
}

/** ordersById for another merchant-owned table keyed (merchant_id, id): `from ${rowsById('shipments', 's', …)}`. */
export function rowsById(
  table: 'orders' | 'shipments',
  alias: string,
  merchantId: number,
  ids: readonly number[] | RawBuilder<unknown>,
  opts: { lock?: boolean } = {},
): RawBuilder<unknown> {
  return sql`unnest(${ids}::bigint[]) with ordinality as k(id, i)
    cross join lateral (
      select * from ${sql.table(table)} x where x.merchant_id = ${merchantId} and x.id = k.id
      offset 0 ${opts.lock ? sql`for update` : sql``}
    ) as ${sql.id(alias)}`;
}

/**
 * The same for (order_source, order_number) keys: the unique key (order_number, order_source,
 * merchant_id) probed once per key, all three columns bound.
 */
export function ordersBySourceNumber(
  merchantId: number,
  keys: readonly { s: string; n: string }[],
): RawBuilder<unknown> {
  return sql`unnest(${keys.map((k) => k.s)}::text[], ${keys.map((k) => k.n)}::text[]) as k(s, n)
    cross join lateral (
      select * from orders x where x.order_number = k.n and x.order_source = k.s and x.merchant_id = ${merchantId}
      offset 0
    ) as o`;
}

/**
 * The (merchant_id, id) of the keyed rows, as `t`, for an UPDATE … FROM: join the target on
 * `x.merchant_id = t.merchant_id and x.id = t.id`. Joined on t's own merchant_id column (not the
 * constant), the target is probed once per key: the planner cannot swap in a scan of the merchant.
 */
export function keysOf(
  table: 'orders' | 'shipments',
  merchantId: number,
  ids: readonly number[] | RawBuilder<unknown>,
): RawBuilder<unknown> {
  return sql`(select r.merchant_id, r.id from ${rowsById(table, 'r', merchantId, ids)}) as t`;
}
