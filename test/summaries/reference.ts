/**
 * The order summary as its first statement computed it, from the orders, their lines, their
 * events and their shipments as stored: the oracle the summary facts are held to
 * (differential.test.ts). Slow on purpose: nothing in it relies on the facts.
 */
import { type RawBuilder, sql } from 'kysely';
import { OPEN_STATUSES_SQL, SHIPPED_STATUSES_SQL } from '../../src/domain/lifecycle-sql.js';
import { groupOf, type SummaryQuery, type SummaryRow } from '../../src/summaries/query.js';

const money = (expr: RawBuilder<unknown>) => sql`coalesce(sum(${expr}), 0)::numeric(20, 2)::text`;

/** The statement of a summary as first written: three scans, lines and events joined per query. */
export function referenceStatement(q: SummaryQuery): RawBuilder<SummaryRow> {
  const scope =
    'merchantId' in q.scope
      ? sql`= ${q.scope.merchantId}::bigint`
      : sql`in (select id from merchants where warehouse_id = ${q.scope.warehouseId}::bigint)`;
  const tz = q.timezone;
  // The literal definition (a row is in the period when its local day is): the first version
  // compared instants with the zone's midnights, which miscounted the hour of a midnight that a
  // fall-back makes ambiguous (PostgreSQL reads it as the later one).
  const inPeriod = (ts: RawBuilder<unknown>) =>
    sql`(${ts} at time zone ${tz})::date between ${q.from}::date and ${q.to}::date`;
  const grp = groupOf(q.group);
  const open = OPEN_STATUSES_SQL;

  // `o`: the orders counted, with their day. `created`: by creation instant. `shipped`: by the
  // instant the order last became shipped from an open status (what a void followed by a new
  // notice re-dates), counting only orders still shipped or confirmed.
  const counted =
    q.date === 'created'
      ? sql`
        select o.merchant_id, o.id, (o.created_at at time zone ${tz})::date as day, ${grp} as grp,
          o.currency, o.order_total, o.shipping_amount
        from orders o
        where o.merchant_id ${scope} and ${inPeriod(sql`o.created_at`)}
          and o.status <> 'canceled'`
      : sql`
        select o.merchant_id, o.id, (e.at at time zone ${tz})::date as day, ${grp} as grp,
          o.currency, o.order_total, o.shipping_amount
        from order_events e
        join orders o on o.merchant_id = e.merchant_id and o.id = e.order_id
        where e.merchant_id ${scope} and e.to_status = 'shipped' and ${inPeriod(sql`e.at`)}
          and e.from_status in (${open}) and o.status in (${SHIPPED_STATUSES_SQL})
          and not exists (
            select 1 from order_events later
            where later.merchant_id = e.merchant_id and later.order_id = e.order_id and later.id > e.id
              and later.to_status = 'shipped' and later.from_status in (${open}))`;

  // Shipments: of the counted orders (by creation), or by their own ship date (by shipping).
  const shipments =
    q.date === 'created'
      ? sql`
        select o.day, o.grp, o.currency, s.shipping_cost
        from o join shipments s on s.merchant_id = o.merchant_id and s.order_id = o.id
        where s.voided_at is null`
      : sql`
        select coalesce(s.ship_date, (s.created_at at time zone ${tz})::date) as day, ${grp} as grp,
          o.currency, s.shipping_cost
        from shipments s
        join orders o on o.merchant_id = s.merchant_id and o.id = s.order_id
        where s.merchant_id ${scope} and s.voided_at is null and o.status <> 'canceled'
          and coalesce(s.ship_date, (s.created_at at time zone ${tz})::date) between ${q.from}::date and ${q.to}::date`;

  // Three streams, each aggregated to (day, group, currency) on its own — orders (counts and money),
  // their shippable lines (units: not adjustments, not excluded by a rule), shipments — then added up. Aggregating each stream where its
  // columns have statistics lets PostgreSQL hash a handful of groups instead of sorting every row;
  // `o` is inlined into each (not materialized), so it can be scanned in parallel.
  return sql<SummaryRow>`
    with o as not materialized (${counted}),
    parts as (
      select o.day, o.grp, o.currency, count(*) as orders, 0 as units,
        sum(o.order_total) as order_total, sum(o.shipping_amount) as shipping_paid,
        0 as shipments, null::numeric as shipping_cost
      from o
      group by 1, 2, 3
      union all
      select o.day, o.grp, o.currency, 0, sum(l.quantity), null, null, 0, null
      from o join order_lines l on l.merchant_id = o.merchant_id and l.order_id = o.id
      where not l.adjustment and not l.excluded
      group by 1, 2, 3
      union all
      select sh.day, sh.grp, sh.currency, 0, 0, null, null, count(*), sum(sh.shipping_cost)
      from (${shipments}) sh
      group by 1, 2, 3
    )
    select to_char(day, 'YYYY-MM-DD') as day, grp as "group", currency,
      sum(orders)::int as orders, sum(units)::bigint as units,
      ${money(sql`order_total`)} as order_total, ${money(sql`shipping_paid`)} as shipping_paid,
      sum(shipments)::int as shipments, ${money(sql`shipping_cost`)} as shipping_cost
    from parts
    group by day, grp, currency
    order by day, grp nulls last, currency nulls last
  `;
}
