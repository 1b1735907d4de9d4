/**
 * Summary facts: what a summary needs of an order's lines, events and shipments, kept on the order
 * row (the `units`, `shipped_at` and `shipment_*` columns) by the code that writes those rows, so a
 * summary reads each order of its period once (src/summaries/). The one owner of how they are
 * computed: writers use these fragments, and `refreshSummaryFacts` recomputes them all from the
 * rows (the tests hold the writers to it; the benchmark checks the facts it seeds against it).
 *
 * Shipment facts, per order: the live (not voided) shipments' count and cost sum, and per live
 * shipment in id order its ship date (null when unknown), cost and when it was recorded. And
 * `ship_span`, the days the order's `shipped_at` and live shipments may fall on in any zone (an
 * instant's local day is within a day of its UTC day), which a summary by ship date finds its
 * orders by (SHIP_SPAN_BOX).
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DB, OrderStatus } from '../db/schema.js';
import { OPEN_STATUSES } from './lifecycle.js';
import { OPEN_STATUSES_SQL } from './lifecycle-sql.js';

/** The first and last day a shipment (columns ship_date, recorded) may fall on, in any zone. */
const dayLo = (shipDate: RawBuilder<unknown>, recorded: RawBuilder<unknown>) =>
  sql`coalesce(${shipDate}, (${recorded} at time zone 'UTC')::date - 1)`;
const dayHi = (shipDate: RawBuilder<unknown>, recorded: RawBuilder<unknown>) =>
  sql`coalesce(${shipDate}, (${recorded} at time zone 'UTC')::date + 1)`;
/** The days an instant may fall on, in any zone (null for null). */
const daysOf = (at: RawBuilder<unknown>) =>
  sql`case when ${at} is not null then daterange((${at} at time zone 'UTC')::date - 1, (${at} at time zone 'UTC')::date + 1, '[]') end`;
/** `span` widened by `more` (either may be null). */
const merged = (span: RawBuilder<unknown>, more: RawBuilder<unknown>) =>
  sql`nullif(range_merge(coalesce(${span}, 'empty'::daterange), coalesce(${more}, 'empty'::daterange)), 'empty'::daterange)`;

/**
 * The order `o`'s ship_span as a box of (merchant, first day, last day), days counted from
 * 2000-01-01: what orders_ship_span_idx indexes (GiST, where ship_span is not null) — the same
 * expression, so the planner matches it. A summary asks for the boxes that meet (merchant range,
 * period), whatever the statistics say.
 */
export const SHIP_SPAN_BOX = sql`box(
      point(o.merchant_id, lower(o.ship_span) - date '2000-01-01'),
      point(o.merchant_id, upper(o.ship_span) - date '2000-01-01' - 1))`;

/** The box of merchants `lo`..`hi` over days `from`..`to` (dates), to meet SHIP_SPAN_BOX with &&. */
export const shipSpanQueryBox = (
  lo: RawBuilder<unknown>,
  hi: RawBuilder<unknown>,
  from: RawBuilder<unknown>,
  to: RawBuilder<unknown>,
) => sql`box(point(${lo}, ${from} - date '2000-01-01'), point(${hi}, ${to} - date '2000-01-01'))`;

/**
 * The shipment facts of the order row `o` (merchant_id, id) recomputed from its live shipments, as
 * the SET list of an UPDATE of orders aliased `o` (for a void, after the shipment was marked);
 * `shippedAt` is the order's shipped_at after the update (o.shipped_at when it does not move).
 */
export const shipmentFactsFromRows = (shippedAt: RawBuilder<unknown>) => sql`
  (shipment_count, shipment_cost, shipment_dates, shipment_costs, shipment_recorded, ship_span) = (
    select count(*)::integer, coalesce(sum(s.shipping_cost), 0),
      array_agg(s.ship_date order by s.id), array_agg(s.shipping_cost order by s.id),
      array_agg(s.created_at order by s.id),
      ${merged(
        sql`case when count(*) > 0 then daterange(min(${dayLo(sql`s.ship_date`, sql`s.created_at`)}),
          max(${dayHi(sql`s.ship_date`, sql`s.created_at`)}), '[]') end`,
        daysOf(shippedAt),
      )}
    from shipments s
    where s.merchant_id = o.merchant_id and s.order_id = o.id and s.voided_at is null)`;

/**
 * The shipment facts of the order row `o` after one more live shipment, as SET items of an UPDATE
 * of orders (whose row is `o`): its ship date, cost, and the instant it was recorded (the
 * shipment's created_at, the transaction's now()); with `shippedAt` when this shipment also moves
 * the order's shipped_at (isShippedAtMove), else null.
 */
export function shipmentFactsAppended(
  shipDate: RawBuilder<unknown>,
  cost: RawBuilder<unknown>,
  recorded: RawBuilder<unknown>,
  shippedAt: RawBuilder<unknown> | null,
): RawBuilder<unknown> {
  const days = sql`daterange(${dayLo(shipDate, recorded)}, ${dayHi(shipDate, recorded)}, '[]')`;
  return sql`shipment_count = o.shipment_count + 1,
    shipment_cost = o.shipment_cost + coalesce(${cost}, 0),
    shipment_dates = coalesce(o.shipment_dates, '{}') || ${shipDate},
    shipment_costs = coalesce(o.shipment_costs, '{}') || ${cost},
    shipment_recorded = coalesce(o.shipment_recorded, '{}') || ${recorded},
    ${
      shippedAt === null
        ? sql`ship_span = ${merged(sql`o.ship_span`, days)}`
        : sql`shipped_at = ${shippedAt}, ship_span = ${merged(merged(sql`o.ship_span`, days), daysOf(shippedAt))}`
    }`;
}

/**
 * Does a move to `to` from `from` date the order's shipment for summaries (shipped_at)? A move to
 * shipped from an open status; a further notice for a confirmed order does not. (SQL twin below.)
 */
export const isShippedAtMove = (from: OrderStatus, to: OrderStatus): boolean =>
  to === 'shipped' && OPEN_STATUSES.includes(from);

export const SHIPPED_AT_MOVE_SQL = (from: RawBuilder<unknown>, to: RawBuilder<unknown>) =>
  sql`(${to} = 'shipped' and ${from} in (${OPEN_STATUSES_SQL}))`;

/**
 * Recomputes every summary fact of the orders (of `merchantId`, or all) from their lines, events
 * and shipments, set-wise. For benchmarks that seed rows directly and for tests that hold the
 * writers to it; the service itself keeps the facts as it writes.
 */
export async function refreshSummaryFacts(db: Kysely<DB>, merchantId?: number): Promise<void> {
  const mine = (alias: string) =>
    merchantId === undefined ? sql`true` : sql`${sql.ref(`${alias}.merchant_id`)} = ${merchantId}::bigint`;
  await sql`
    update orders o set
      units = coalesce(l.units, 0),
      shipped_at = e.at,
      shipment_count = coalesce(s.n, 0),
      shipment_cost = coalesce(s.cost, 0),
      shipment_dates = s.dates, shipment_costs = s.costs, shipment_recorded = s.recorded,
      ship_span = ${merged(sql`s.span`, daysOf(sql`e.at`))}
    from orders k
    left join (
      select merchant_id, order_id, sum(quantity)::integer as units
      from order_lines x where not adjustment and not excluded and ${mine('x')}
      group by merchant_id, order_id
    ) l on l.merchant_id = k.merchant_id and l.order_id = k.id
    left join (
      select distinct on (merchant_id, order_id) merchant_id, order_id, at
      from order_events x
      where ${SHIPPED_AT_MOVE_SQL(sql`from_status`, sql`to_status`)} and ${mine('x')}
      order by merchant_id, order_id, id desc
    ) e on e.merchant_id = k.merchant_id and e.order_id = k.id
    left join (
      select merchant_id, order_id, count(*)::integer as n, coalesce(sum(shipping_cost), 0) as cost,
        array_agg(ship_date order by id) as dates, array_agg(shipping_cost order by id) as costs,
        array_agg(created_at order by id) as recorded,
        daterange(min(${dayLo(sql`ship_date`, sql`created_at`)}), max(${dayHi(sql`ship_date`, sql`created_at`)}), '[]') as span
      from shipments x where voided_at is null and ${mine('x')}
      group by merchant_id, order_id
    ) s on s.merchant_id = k.merchant_id and s.order_id = k.id
    where o.merchant_id = k.merchant_id and o.id = k.id and ${mine('k')}
  `.execute(db);
}
