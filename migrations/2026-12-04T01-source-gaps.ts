import { type Kysely, sql } from 'kysely';

/**
 * What a source connection keeps back, stored rather than dropped.
 *
 * - orders.withheld: why an order is kept out of routing until a person releases it (null: it routes
 *   as usual). A pulled order whose number another order of the source already has, or a split or
 *   merged child of orders already pulled, is stored withheld: exported nowhere, and never matched
 *   by number to a shipment notice, until released.
 * - source_orders.order_number: ShipStation's orderNumber as last seen (refused orders have no order
 *   here to read it from); source_orders.details: the validation details of a refused order, as the
 *   API answers them ([{path, message}]).
 * - source_orders_state_idx: a source's refused and held orders, listed without walking the taken ones.
 * - source_rate_limits.unknown_taken: calls of a key pair that went while its window was unknown
 *   (over, or never answered), so the window's first answer takes the others in flight off too.
 * - source_outbox_order_events(), replaced: tracking back follows whether the source was *told*
 *   (notified_at), not whether a call was queued. A package arriving once the source was told raises
 *   source_later_package (the packages before it are the call's business: it tells the first and
 *   raises the alert for the others). An order that becomes shipped again before the source was
 *   told (its shipment voided before the call ran, then shipped anew) queues the call again: a
 *   finished call job comes back, a waiting or running one is left to run (it re-reads the order).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table orders add column withheld text`.execute(db);
  await sql`alter table source_orders add column order_number text, add column details jsonb`.execute(db);
  await sql`create index source_orders_state_idx on source_orders (source_id, state, ss_order_id)`.execute(
    db,
  );
  await sql`alter table source_rate_limits add column unknown_taken integer not null default 0`.execute(db);
  await sql.raw(OUTBOX).execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists source_orders_state_idx`.execute(db);
  await sql`alter table source_rate_limits drop column if exists unknown_taken`.execute(db);
  await sql`alter table source_orders drop column if exists order_number, drop column if exists details`.execute(
    db,
  );
  await sql`alter table orders drop column if exists withheld`.execute(db);
}

const OUTBOX = `create or replace function source_outbox_order_events() returns trigger language plpgsql as $$
  begin
    if not exists (select 1 from sources) then return null; end if;
    -- A further package of an order whose source was already told it shipped.
    insert into alerts (merchant_id, kind, message, order_id, data)
    select e.merchant_id, 'source_later_package',
      'order ' || e.order_id || ' got another shipment after its source (' || s.name ||
        ') was told it shipped; ShipStation is told once: add this tracking there by hand if needed',
      e.order_id,
      jsonb_build_object('source_id', s.id, 'shipment_id', (e.data ->> 'shipment_id')::bigint,
        'ss_order_id', so.ss_order_id)
    from new_rows e
    join source_orders so on so.merchant_id = e.merchant_id and so.order_id = e.order_id
    join sources s on s.id = so.source_id
    where e.type = 'shipment' and so.notified_at is not null
    order by e.id;
    -- The order became shipped and its source has not been told yet: tell it once.
    with became as (
      select distinct e.merchant_id, e.order_id
      from new_rows e
      where e.to_status = 'shipped' and coalesce(e.from_status, '') not in ('shipped', 'confirmed')
    ),
    marked as (
      update source_orders so set ship_job_at = now()
      from became b
      where so.merchant_id = b.merchant_id and so.order_id = b.order_id and so.notified_at is null
      returning so.merchant_id, so.order_id, so.source_id
    )
    insert into jobs (kind, payload, run_at, max_attempts, singleton)
    select 'source.mark_shipped',
      jsonb_build_object('merchant_id', m.merchant_id, 'order_id', m.order_id, 'source_id', m.source_id),
      now(), 8, 'source.mark_shipped:' || m.merchant_id || ':' || m.order_id
    from marked m
    on conflict (singleton) do update set status = 'pending', run_at = now(), attempts = 0, lease = null,
      locked_by = null, last_error = null, finished_at = null, updated_at = now()
    where jobs.status in ('succeeded', 'failed');
    return null;
  end $$`;
