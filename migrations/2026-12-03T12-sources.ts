import { type Kysely, sql } from 'kysely';

/**
 * Source connections: order sources shipbridge pulls from itself (a merchant's own ShipStation
 * account), the orders each has pulled, and the pacing of calls per API key pair.
 *
 * - sources: one connection; its API secret sealed (AES-256-GCM, lib/secrets.ts), `key_pair` an HMAC
 *   of the key pair (never the secret) naming whose call budget it spends; `cursor` the newest
 *   modifyDate stored, moved only after what it covers is stored.
 * - source_orders: every ShipStation order a source has taken (or refused, or held), keyed on
 *   (source, ShipStation orderId); `order_id` is our order when one was stored.
 * - source_rate_limits: the call budget of a key pair as ShipStation last told it, shared by every
 *   instance.
 * - shipments.source_notified_at: when the source account was told the order shipped.
 *
 * Tracking back is an outbox trigger on order_events: in the statement that records a pulled order
 * becoming `shipped`, it queues one `source.mark_shipped` job for it (a singleton per order); a later
 * shipment of an order already reported raises an alert instead (the source was told once). Like the
 * webhook outbox it first probes for any source at all, so a service without sources writes nothing
 * more on its hot paths.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of SCHEMA) await sql.raw(statement).execute(db);
}

const SCHEMA = [
  `create table sources (
    id bigint generated always as identity primary key,
    merchant_id bigint not null references merchants(id),
    type text not null check (type in ('shipstation')),
    name text not null,
    api_key text not null,
    api_secret bytea not null,
    api_secret_key_id text not null,
    key_pair text not null,
    store_id bigint,
    order_statuses text[] not null,
    tag_mode text check (tag_mode in ('include', 'exclude')),
    tag_name text,
    poll_minutes integer not null default 15 check (poll_minutes between 5 and 1440),
    earliest_order_date timestamptz,
    enabled boolean not null default true,
    disabled_reason text,
    cursor timestamptz,
    pull_requested_at timestamptz,
    last_pull_at timestamptz,
    last_pull_error text,
    last_pull_orders integer,
    failures integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    retired_at timestamptz,
    check ((tag_mode is null) = (tag_name is null)),
    unique (merchant_id, name)
  )`,
  `create index sources_key_pair_idx on sources (key_pair)`,

  `create table source_orders (
    source_id bigint not null references sources(id),
    ss_order_id bigint not null,
    merchant_id bigint not null,
    order_id bigint,
    state text not null check (state in ('taken', 'refused', 'held')),
    reason text,
    modify_date timestamptz not null,
    ss_status text not null,
    input_hash text not null,
    held_by_source boolean not null default false,
    ship_job_at timestamptz,
    notified_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (source_id, ss_order_id)
  )`,
  `create unique index source_orders_order_idx on source_orders (merchant_id, order_id) where order_id is not null`,

  `create table source_rate_limits (
    key_pair text primary key,
    remaining integer,
    reset_at timestamptz,
    updated_at timestamptz not null default now()
  )`,

  `alter table shipments add column source_notified_at timestamptz`,

  `create function source_outbox_order_events() returns trigger language plpgsql as $$
  begin
    if not exists (select 1 from sources) then return null; end if;
    -- A further package of an order whose shipment the source was already told about.
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
    where e.type = 'shipment' and so.ship_job_at is not null
    order by e.id;
    -- The order became shipped: tell the source once.
    with became as (
      select distinct e.merchant_id, e.order_id
      from new_rows e
      where e.to_status = 'shipped' and coalesce(e.from_status, '') not in ('shipped', 'confirmed')
    ),
    marked as (
      update source_orders so set ship_job_at = now()
      from became b
      where so.merchant_id = b.merchant_id and so.order_id = b.order_id and so.ship_job_at is null
      returning so.merchant_id, so.order_id, so.source_id
    )
    insert into jobs (kind, payload, run_at, max_attempts, singleton)
    select 'source.mark_shipped',
      jsonb_build_object('merchant_id', m.merchant_id, 'order_id', m.order_id, 'source_id', m.source_id),
      now(), 8, 'source.mark_shipped:' || m.merchant_id || ':' || m.order_id
    from marked m
    on conflict (singleton) do nothing;
    return null;
  end $$`,
  `create trigger source_outbox after insert on order_events
    referencing new table as new_rows for each statement execute function source_outbox_order_events()`,
];

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists source_outbox on order_events`.execute(db);
  await sql`drop function if exists source_outbox_order_events`.execute(db);
  await sql`alter table shipments drop column if exists source_notified_at`.execute(db);
  await sql`drop table if exists source_rate_limits, source_orders, sources cascade`.execute(db);
}
