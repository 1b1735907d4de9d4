import { type Kysely, sql } from 'kysely';

/**
 * Background jobs (a table of our own, claimed with FOR UPDATE SKIP LOCKED and a lease) and
 * webhooks: subscriptions, the outbox of events, deliveries and their attempts.
 *
 * The outbox is filled by statement-level triggers on the tables that record what happened
 * (order_events, alerts, ship_notices), so every event is written in the transaction, indeed the
 * statement, of the change that causes it, on every path that records that change — including the
 * single-statement hot paths — without touching their SQL. Each trigger first checks that some
 * enabled webhook exists at all (one index probe per statement), so a service without webhooks
 * writes nothing more on its hot paths.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of SCHEMA) await sql.raw(statement).execute(db);
}

const SCHEMA = [
  `create table jobs (
    id bigint generated always as identity primary key,
    kind text not null,
    payload jsonb not null default '{}',
    status text not null default 'pending' check (status in ('pending','running','succeeded','failed')),
    -- pending: when it may run; running: when its lease ends (then anyone may take it over)
    run_at timestamptz not null,
    attempts integer not null default 0,
    max_attempts integer not null,
    lease text,
    locked_by text,
    last_error text,
    -- one live row per key (periodic jobs)
    singleton text unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz
  )`,
  `create index jobs_due_idx on jobs (run_at) where status in ('pending','running')`,
  `create index jobs_finished_idx on jobs (finished_at) where status in ('succeeded','failed')`,

  `create table webhooks (
    id bigint generated always as identity primary key,
    merchant_id bigint references merchants(id),
    warehouse_id bigint references warehouses(id),
    url text not null,
    events text[] not null,
    description text,
    enabled boolean not null default true,
    disabled_reason text,
    secret bytea not null,
    secret_key_id text not null,
    previous_secret bytea,
    previous_secret_expires_at timestamptz,
    failing_since timestamptz,
    last_success_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((merchant_id is null) <> (warehouse_id is null))
  )`,
  `create index webhooks_merchant_idx on webhooks (merchant_id) where enabled`,
  `create index webhooks_warehouse_idx on webhooks (warehouse_id) where enabled`,

  // id is the event's sequence: it grows per order, since every writer of an order's events holds
  // the order's row lock until it commits. merchant_id is null only for a warehouse webhook's ping.
  `create table webhook_events (
    id bigint generated always as identity primary key,
    merchant_id bigint,
    type text not null,
    order_id bigint,
    subject_id bigint,
    created_at timestamptz not null default now(),
    dispatched_at timestamptz
  )`,
  `create index webhook_events_pending_idx on webhook_events (id) where dispatched_at is null`,
  `create index webhook_events_dispatched_idx on webhook_events (dispatched_at) where dispatched_at is not null`,

  `create table webhook_deliveries (
    id bigint generated always as identity primary key,
    webhook_id bigint not null references webhooks(id) on delete cascade,
    event_id bigint not null references webhook_events(id) on delete cascade,
    status text not null default 'pending' check (status in ('pending','succeeded','failed','skipped')),
    attempts integer not null default 0,
    job_id bigint,
    last_status_code integer,
    last_error text,
    last_duration_ms integer,
    last_attempt_at timestamptz,
    created_at timestamptz not null default now(),
    delivered_at timestamptz,
    unique (webhook_id, event_id)
  )`,
  `create index webhook_deliveries_list_idx on webhook_deliveries (webhook_id, id desc)`,
  `create index webhook_deliveries_event_idx on webhook_deliveries (event_id)`,

  `create table webhook_attempts (
    id bigint generated always as identity primary key,
    delivery_id bigint not null references webhook_deliveries(id) on delete cascade,
    at timestamptz not null,
    status_code integer,
    error text,
    duration_ms integer not null,
    response_body text
  )`,
  `create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, id)`,

  // Is there an enabled webhook of this merchant, or of its warehouse, that takes this event type?
  `create function webhook_subscribed(m bigint, t text) returns boolean language sql stable as $$
    select exists (
      select 1 from webhooks w
      where w.enabled and t = any(w.events)
        and (w.merchant_id = m
          or w.warehouse_id = (select warehouse_id from merchants where id = m))
    )
  $$`,

  // What each order event means to a webhook receiver.
  `create function webhook_outbox_order_events() returns trigger language plpgsql as $$
  begin
    if not exists (select 1 from webhooks where enabled) then return null; end if;
    insert into webhook_events (merchant_id, type, order_id, subject_id)
    select e.merchant_id, x.type, e.order_id, x.subject_id
    from new_rows e
    cross join lateral (
      select 'order.created' as type, null::bigint as subject_id where e.type = 'created'
      union all
      select 'order.updated', null where e.type = 'replaced'
        or (e.type = 'routed' and e.data ->> 'from_store_id' is not null and e.data ->> 'store_id' is not null)
      union all
      select 'order.unrouted', null where e.type = 'routed' and e.data ->> 'store_id' is null
      union all
      select 'order.status_changed', null
        where e.type <> 'created' and e.from_status is not null and e.to_status is not null
          and e.from_status <> e.to_status
      union all
      select 'shipment.created', (e.data ->> 'shipment_id')::bigint where e.type = 'shipment'
      union all
      select 'shipment.voided', (e.data ->> 'shipment_id')::bigint where e.type = 'shipment_voided'
    ) x
    where webhook_subscribed(e.merchant_id, x.type)
    order by e.id;
    return null;
  end $$`,
  `create trigger webhook_outbox after insert on order_events
    referencing new table as new_rows for each statement execute function webhook_outbox_order_events()`,

  `create function webhook_outbox_alerts() returns trigger language plpgsql as $$
  begin
    if not exists (select 1 from webhooks where enabled) then return null; end if;
    insert into webhook_events (merchant_id, type, order_id, subject_id)
    select a.merchant_id, 'alert.created', a.order_id, a.id
    from new_rows a
    where webhook_subscribed(a.merchant_id, 'alert.created')
    order by a.id;
    return null;
  end $$`,
  `create trigger webhook_outbox after insert on alerts
    referencing new table as new_rows for each statement execute function webhook_outbox_alerts()`,

  // A notice becomes unmatched when it is stored so, or set so later.
  `create function webhook_outbox_notices_inserted() returns trigger language plpgsql as $$
  begin
    if not exists (select 1 from webhooks where enabled) then return null; end if;
    insert into webhook_events (merchant_id, type, order_id, subject_id)
    select n.merchant_id, 'shipnotice.unmatched', null, n.id
    from new_rows n
    where n.status = 'unmatched' and webhook_subscribed(n.merchant_id, 'shipnotice.unmatched')
    order by n.id;
    return null;
  end $$`,
  `create trigger webhook_outbox_insert after insert on ship_notices
    referencing new table as new_rows for each statement execute function webhook_outbox_notices_inserted()`,
  `create function webhook_outbox_notices_updated() returns trigger language plpgsql as $$
  begin
    if not exists (select 1 from webhooks where enabled) then return null; end if;
    insert into webhook_events (merchant_id, type, order_id, subject_id)
    select n.merchant_id, 'shipnotice.unmatched', null, n.id
    from new_rows n
    join old_rows o on o.merchant_id = n.merchant_id and o.id = n.id
    where n.status = 'unmatched' and o.status <> 'unmatched'
      and webhook_subscribed(n.merchant_id, 'shipnotice.unmatched')
    order by n.id;
    return null;
  end $$`,
  `create trigger webhook_outbox_update after update on ship_notices
    referencing old table as old_rows new table as new_rows
    for each statement execute function webhook_outbox_notices_updated()`,
];

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists webhook_outbox on order_events`.execute(db);
  await sql`drop trigger if exists webhook_outbox on alerts`.execute(db);
  await sql`drop trigger if exists webhook_outbox_insert on ship_notices`.execute(db);
  await sql`drop trigger if exists webhook_outbox_update on ship_notices`.execute(db);
  await sql`drop function if exists webhook_outbox_order_events, webhook_outbox_alerts,
    webhook_outbox_notices_inserted, webhook_outbox_notices_updated, webhook_subscribed`.execute(db);
  await sql`drop table if exists webhook_attempts, webhook_deliveries, webhook_events, webhooks, jobs cascade`.execute(
    db,
  );
}
