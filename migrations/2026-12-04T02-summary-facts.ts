import { type Kysely, sql } from 'kysely';

/**
 * Summary facts on the order row, so that a summary reads each order of its period once, without its
 * lines, events or shipments (src/summaries/README.md). Written by the code that writes the rows
 * they follow (ingestion, PUT, re-evaluation, shipment notices, voids), not by triggers.
 *
 * - units: quantities of the shippable lines (not adjustments, not excluded by a rule).
 * - shipped_at: when the order last moved to shipped from an open status (its 'shipped' event).
 * - shipment_count, shipment_cost: the live (not voided) shipments and the sum of their costs.
 * - shipment_dates, shipment_costs, shipment_recorded: per live shipment, in id order, its ship
 *   date (null when unknown), cost and the instant it was recorded (its day when the date is
 *   unknown); null arrays when there is none.
 * - ship_span: the days the order's shipped_at and live shipments may fall on, in any zone (an
 *   instant counts as its UTC day, give or take one); null when it has neither. Indexed as a box
 *   of (merchant, days) in GiST, so that a summary by ship date finds the orders it counts, in
 *   the period and of the merchant, with one index whatever the statistics say.
 *
 * The backfill computes them set-wise from the rows as they stand.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table orders
      add column units integer not null default 0,
      add column shipped_at timestamptz,
      add column shipment_count integer not null default 0,
      add column shipment_cost numeric(14,2) not null default 0,
      add column shipment_dates date[],
      add column shipment_costs numeric(12,2)[],
      add column shipment_recorded timestamptz[],
      add column ship_span daterange
  `.execute(db);
  await sql`
    update orders o set units = x.units
    from (
      select merchant_id, order_id, sum(quantity)::integer as units
      from order_lines where not adjustment and not excluded
      group by merchant_id, order_id
    ) x
    where o.merchant_id = x.merchant_id and o.id = x.order_id
  `.execute(db);
  await sql`
    update orders o set shipped_at = x.at
    from (
      select distinct on (merchant_id, order_id) merchant_id, order_id, at
      from order_events
      where to_status = 'shipped' and from_status in ('await_payment', 'new', 'at_wms', 'on_hold')
      order by merchant_id, order_id, id desc
    ) x
    where o.merchant_id = x.merchant_id and o.id = x.order_id
  `.execute(db);
  await sql`
    update orders o set shipment_count = x.n, shipment_cost = x.cost, shipment_dates = x.dates,
      shipment_costs = x.costs, shipment_recorded = x.recorded,
      ship_span = daterange(x.lo, x.hi, '[]')
    from (
      select merchant_id, order_id, count(*)::integer as n, coalesce(sum(shipping_cost), 0) as cost,
        array_agg(ship_date order by id) as dates, array_agg(shipping_cost order by id) as costs,
        array_agg(created_at order by id) as recorded,
        min(coalesce(ship_date, (created_at at time zone 'UTC')::date - 1)) as lo,
        max(coalesce(ship_date, (created_at at time zone 'UTC')::date + 1)) as hi
      from shipments where voided_at is null
      group by merchant_id, order_id
    ) x
    where o.merchant_id = x.merchant_id and o.id = x.order_id
  `.execute(db);
  await sql`
    update orders set ship_span = range_merge(coalesce(ship_span, 'empty'::daterange),
      daterange((shipped_at at time zone 'UTC')::date - 1, (shipped_at at time zone 'UTC')::date + 1, '[]'))
    where shipped_at is not null
  `.execute(db);
  // Partial: an order gets an entry once it ships, so ingestion pays nothing for it.
  await sql`
    create index orders_ship_span_idx on orders using gist ((box(
      point(merchant_id, lower(ship_span) - date '2000-01-01'),
      point(merchant_id, upper(ship_span) - date '2000-01-01' - 1))))
    where ship_span is not null
  `.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists orders_ship_span_idx`.execute(db);
  await sql`
    alter table orders
      drop column units, drop column shipped_at, drop column shipment_count, drop column shipment_cost,
      drop column shipment_dates, drop column shipment_costs, drop column shipment_recorded,
      drop column ship_span
  `.execute(db);
}
