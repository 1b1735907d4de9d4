import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { SHIPPED_STATUSES_SQL } from '../domain/lifecycle-sql.js';
import { SHIP_SPAN_BOX, shipSpanQueryBox } from '../domain/summary-facts.js';

/**
 * Order summaries: per day (in a time zone), group and currency — orders, units, money, shipments.
 * One SQL statement, so totals are exact numerics summed by PostgreSQL and a month of a busy
 * merchant is aggregated where the rows are, never shipped to Node.
 */

export type SummaryDate = 'created' | 'shipped';
export type SummaryGroup = 'store' | 'source' | 'status';

export interface SummaryQuery {
  /** Whose orders: one merchant, or every merchant of a warehouse. */
  scope: { merchantId: number } | { warehouseId: number };
  date: SummaryDate;
  /** First and last day, inclusive, 'YYYY-MM-DD' in `timezone`. */
  from: string;
  to: string;
  timezone: string;
  group: SummaryGroup | undefined;
}

export interface SummaryRow {
  day: string;
  group: string | null;
  currency: string | null;
  orders: number;
  units: number;
  order_total: string;
  shipping_paid: string;
  shipments: number;
  shipping_cost: string;
}

export const SUMMARY_COLUMNS = [
  'day',
  'group',
  'currency',
  'orders',
  'units',
  'order_total',
  'shipping_paid',
  'shipments',
  'shipping_cost',
] as const satisfies readonly (keyof SummaryRow)[];

/** The group of an order (alias `o`): the serving store, else the routed one; null when not grouped. */
export function groupOf(group: SummaryGroup | undefined): RawBuilder<string | null> {
  switch (group) {
    case 'store':
      return sql`coalesce(o.served_store_id, o.store_id)::text`;
    case 'source':
      return sql`o.order_source`;
    case 'status':
      return sql`o.status::text`;
    default:
      return sql`null::text`;
  }
}

const money = (expr: RawBuilder<unknown>) => sql`coalesce(${expr}, 0)::numeric(20, 2)::text`;

/**
 * Runs the statement with the planner settings of summaryPlanner, for its transaction only.
 */
export async function summarise(db: Kysely<DB>, q: SummaryQuery): Promise<SummaryRow[]> {
  return db.transaction().execute(async (trx) => {
    await summaryPlanner(trx, q);
    return (await summaryStatement(q).execute(trx)).rows;
  });
}

/**
 * The planner settings a summary runs with (`set local`: in the transaction `trx` only), for what
 * is right whatever the statistics say. Sorting discouraged (`enable_sort = off`): without
 * statistics the planner expects a handful of rows in the period and groups them by sorting, which
 * for a busy month is a million rows sorted (spilling to disk) into at most days × groups ×
 * currencies; measured at 1 M orders, a month by creation: 733 → 533 ms. By ship date, sequential
 * scans too (`enable_seqscan = off`): at 400 000 orders the planner chose to read every merchant's
 * orders in parallel rather than the merchant's period through the ship-span index, which on a
 * shared table is all the other merchants' orders read for nothing (bench/README.md).
 */
export async function summaryPlanner(trx: Kysely<DB>, q: SummaryQuery): Promise<void> {
  await sql`set local enable_sort = off`.execute(trx);
  if (q.date === 'shipped') await sql`set local enable_seqscan = off`.execute(trx);
}

/**
 * The period's day boundaries, once per statement: `b`, the first instant of each day from `from`
 * to `to + 1` (so day k, 1-based, is [b[k], b[k+1])), `lo` and `hi` the period's ends, `n` its days.
 * A day starts at the first instant whose local day is that day: its midnight, or — when a
 * fall-back makes midnight ambiguous, which PostgreSQL reads as the later instant — up to 3 hours
 * earlier (every shift is a multiple of 15 minutes).
 */
function bounds(q: SummaryQuery): RawBuilder<unknown> {
  const tz = q.timezone;
  return sql`
    select array_agg(x.b order by x.d) as b, min(x.b) as lo, max(x.b) as hi, (count(*) - 1)::integer as n
    from (
      select d.d, (
        select min(c.t) from generate_series(0, 12) k,
          lateral (select (d.d::timestamp at time zone ${tz}) - k * interval '15 minutes' as t) c
        where (c.t at time zone ${tz})::date >= d.d
      ) as b
      from generate_series(${q.from}::date, ${q.to}::date + 1, interval '1 day') as g(day),
        lateral (select g.day::date as d) d
    ) x`;
}

/**
 * The one statement of a summary (the benchmark explains it). It reads each order of the period
 * once, with its summary facts (src/domain/summary-facts.ts) instead of its lines, events and
 * shipments, maps instants to days with width_bucket over the period's day boundaries (no time
 * zone conversion per row), aggregates on the day's number and names the day last.
 */
export function summaryStatement(q: SummaryQuery): RawBuilder<SummaryRow> {
  const scope =
    'merchantId' in q.scope
      ? sql`= ${q.scope.merchantId}::bigint`
      : sql`in (select id from merchants where warehouse_id = ${q.scope.warehouseId}::bigint)`;
  // The merchants' ids as a range, for the ship-span index: exactly the scope for one merchant
  // (no other condition on merchant_id, which would tempt the planner to read the merchant's every
  // order by the primary key), else narrowed by the scope afterwards.
  const merchants =
    'merchantId' in q.scope
      ? { lo: sql`${q.scope.merchantId}::bigint`, hi: sql`${q.scope.merchantId}::bigint`, exact: true }
      : {
          lo: sql`(select min(id) from merchants where warehouse_id = ${q.scope.warehouseId}::bigint)`,
          hi: sql`(select max(id) from merchants where warehouse_id = ${q.scope.warehouseId}::bigint)`,
          exact: false,
        };
  const grp = groupOf(q.group);
  const b = sql`(select b from bounds)`;
  const inPeriod = (ts: RawBuilder<unknown>) =>
    sql`${ts} >= (select lo from bounds) and ${ts} < (select hi from bounds)`;

  // `parts`: (k, grp, currency) aggregates. By creation: one pass over the period's orders, whose
  // facts hold their live shipments. By shipping: the orders whose last move to shipped from an
  // open status falls in the period (still shipped or confirmed), and every live shipment of a
  // non-canceled order on its ship date (else the local day it was recorded). The orders whose
  // ship_span meets the period hold both, and each is read once through the ship-span index
  // (shippedByDay). Nothing is materialised (reading the orders into a CTE and counting them twice
  // wrote and read it back through temporary files: bench/README.md).
  const parts =
    q.date === 'created'
      ? sql`
        select width_bucket(o.created_at, ${b}) as k, ${grp} as grp, o.currency,
          count(*) as orders, sum(o.units) as units, sum(o.order_total) as order_total,
          sum(o.shipping_amount) as shipping_paid, sum(o.shipment_count) as shipments,
          sum(o.shipment_cost) as shipping_cost
        from orders o
        where o.merchant_id ${scope} and ${inPeriod(sql`o.created_at`)} and o.status <> 'canceled'
        group by 1, 2, 3`
      : shippedByDay(
          q,
          b,
          grp,
          sql`o.ship_span is not null
            and ${SHIP_SPAN_BOX} && ${shipSpanQueryBox(merchants.lo, merchants.hi, sql`${q.from}::date`, sql`${q.to}::date`)}
            and o.status <> 'canceled'${merchants.exact ? sql`` : sql` and o.merchant_id ${scope}`}`,
        );

  return sql<SummaryRow>`
    with bounds as materialized (${bounds(q)}),
    parts as (${parts})
    select to_char(${q.from}::date + (k - 1), 'YYYY-MM-DD') as day, grp as "group", currency,
      orders::int as orders, units::bigint as units,
      ${money(sql`order_total`)} as order_total, ${money(sql`shipping_paid`)} as shipping_paid,
      shipments::int as shipments, ${money(sql`shipping_cost`)} as shipping_cost
    from parts
    order by k, grp nulls last, currency nulls last
  `;
}

/**
 * `parts` by ship date, from the orders `o` that meet `where`, in one pass. Each order row becomes
 * one row per live shipment, one when it has none (`i` numbers them; shipment_count is the length
 * of the shipment arrays, both written together by summary-facts.ts), with two days: `own`, the
 * day of the order's shipped_at, on its first row only and only when it is still shipped or
 * confirmed; and `shipment`, the i-th shipment's ship date (else the day of the instant it was
 * recorded), with its cost. One hash aggregation sums those rows per (own, shipment, group,
 * currency) — (days + 3)² at most per group and currency, whatever the orders — and only those
 * few sums are then counted twice: by `own` for the orders, by `shipment` for the shipments. Days
 * outside the period (null, 0 or n + 1) are dropped.
 *
 * Why this form (bench/README.md): a lateral subquery yielding each order's row and one per
 * shipment rescanned an Append per order, which cost what the dropped CTE saved; grouping sets over
 * the numbered rows hash every row twice, and without statistics the planner expects so many groups
 * that it will not hash grouping sets past a few hundred thousand orders (it sorted them, spilling).
 */
function shippedByDay(
  q: SummaryQuery,
  b: RawBuilder<unknown>,
  grp: RawBuilder<string | null>,
  where: RawBuilder<unknown>,
): RawBuilder<unknown> {
  return sql`
    select v.k, p.grp, p.currency,
      coalesce(sum(p.rows) filter (where v.counted), 0) as orders,
      coalesce(sum(p.units) filter (where v.counted), 0) as units,
      sum(p.order_total) filter (where v.counted) as order_total,
      sum(p.shipping_amount) filter (where v.counted) as shipping_paid,
      coalesce(sum(p.rows) filter (where not v.counted), 0) as shipments,
      sum(p.cost) filter (where not v.counted) as shipping_cost
    from (
      select z.own, z.shipment, z.grp, z.currency, count(*) as rows, sum(z.units) as units,
        sum(z.order_total) as order_total, sum(z.shipping_amount) as shipping_amount, sum(z.cost) as cost
      from (
        select y.grp, y.currency, y.units, y.order_total, y.shipping_amount,
          case when y.i = 1 and y.status in (${SHIPPED_STATUSES_SQL}) then width_bucket(y.shipped_at, ${b}) end as own,
          case when y.shipment_dates[y.i] is null then width_bucket(y.shipment_recorded[y.i], ${b})
            else y.shipment_dates[y.i] - ${q.from}::date + 1 end as shipment,
          y.shipment_costs[y.i] as cost
        from (
          select ${grp} as grp, o.currency, o.units, o.order_total, o.shipping_amount, o.status, o.shipped_at,
            o.shipment_dates, o.shipment_recorded, o.shipment_costs,
            generate_series(1, greatest(o.shipment_count, 1)) as i
          from orders o
          where ${where}
        ) y
      ) z
      group by 1, 2, 3, 4
    ) p
    cross join lateral (values (true, p.own), (false, p.shipment)) as v(counted, k)
    where v.k between 1 and (select n from bounds)
    group by 1, 2, 3`;
}
