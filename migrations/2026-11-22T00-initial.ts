import { type Kysely, sql } from 'kysely';

/**
 * The whole contract's schema. Frozen in time: it takes Kysely<any> and uses no application code.
 *
 * Every merchant-owned table carries merchant_id and has it first in its primary key, so the data
 * can later be distributed by merchant (Citus) without a redesign. Ids are global identities.
 * Money is numeric(12,2): exact, never binary floats.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements(SCHEMA)) await sql.raw(statement).execute(db);
}

/** One statement at a time: PGlite's extended protocol takes a single statement per query. */
function statements(script: string): string[] {
  return script
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

const SCHEMA = `
    create table server_settings (
      key text primary key,
      value text not null,
      created_at timestamptz not null default now()
    );

    create table warehouses (
      id bigint generated always as identity primary key,
      code text not null unique,
      name text not null,
      created_at timestamptz not null default now()
    );

    create table merchants (
      id bigint generated always as identity primary key,
      code text not null unique,
      name text not null,
      warehouse_id bigint references warehouses(id),
      created_at timestamptz not null default now()
    );
    create index merchants_warehouse_idx on merchants (warehouse_id, id);

    create table credentials (
      id bigint generated always as identity primary key,
      api_user text not null unique,
      key_hash bytea not null,
      warehouse_id bigint references warehouses(id),
      merchant_id bigint references merchants(id),
      label text,
      created_at timestamptz not null default now(),
      created_by text,
      revoked_at timestamptz,
      last_used_at timestamptz,
      check ((warehouse_id is null) <> (merchant_id is null))
    );

    create table stores (
      merchant_id bigint not null references merchants(id),
      id bigint generated always as identity,
      name text not null,
      username text not null unique,
      password_hash bytea not null,
      order_sources text[] not null default '{}',
      include_tags text[] not null default '{}',
      exclude_tags text[] not null default '{}',
      priority integer not null default 100,
      page_size integer not null default 100 check (page_size between 1 and 500),
      timezone text not null default 'UTC',
      lookback_minutes integer not null default 10 check (lookback_minutes between 0 and 1440),
      order_number_prefix text not null default '',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      retired_at timestamptz,
      password_rotated_at timestamptz,
      last_export_at timestamptz,
      last_window_start timestamptz,
      last_window_end timestamptz,
      last_notice_at timestamptz,
      primary key (merchant_id, id),
      unique (id)
    );
    create index stores_routing_idx on stores (merchant_id, priority, created_at, id) where retired_at is null;

    create table orders (
      merchant_id bigint not null references merchants(id),
      id bigint generated always as identity,
      order_source text not null,
      order_number text not null,
      status text not null check (status in ('await_payment','new','at_wms','shipped','confirmed','canceled','on_hold')),
      held_from text check (held_from in ('await_payment','new','at_wms')),
      order_date timestamptz not null,
      currency text,
      tags text[] not null default '{}',
      order_total numeric(12,2) not null,
      tax_amount numeric(12,2),
      shipping_amount numeric(12,2),
      amount_paid numeric(12,2),
      content jsonb not null,
      content_hash text not null,
      store_id bigint,
      routing_reason text,
      served_store_id bigint,
      served_at timestamptz,
      last_modified timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      primary key (merchant_id, id),
      unique (merchant_id, order_source, order_number),
      foreign key (merchant_id, store_id) references stores(merchant_id, id),
      foreign key (merchant_id, served_store_id) references stores(merchant_id, id),
      check (served_store_id is null or served_store_id = store_id)
    );
    -- the export window: one store, last_modified range, ordered by (last_modified, id)
    create index orders_export_idx on orders (store_id, last_modified, id) include (merchant_id);
    -- REST listing and polling
    create index orders_updated_idx on orders (merchant_id, updated_at, id);
    create index orders_status_idx on orders (merchant_id, status, id);
    create index orders_unrouted_idx on orders (merchant_id, id) where store_id is null;
    -- shipment notices find orders by number whatever their source
    create index orders_number_idx on orders (merchant_id, order_number);

    create table order_lines (
      merchant_id bigint not null,
      order_id bigint not null,
      id bigint generated always as identity,
      position integer not null,
      line_id text,
      sku text,
      name text,
      quantity integer not null check (quantity between 1 and 99999),
      unit_price numeric(12,2) not null,
      adjustment boolean not null default false,
      shipped_quantity integer not null default 0 check (shipped_quantity >= 0),
      content jsonb not null,
      primary key (merchant_id, id),
      unique (merchant_id, order_id, position),
      foreign key (merchant_id, order_id) references orders(merchant_id, id) on delete cascade
    );
    create index order_lines_order_idx on order_lines (merchant_id, order_id, position);

    create table order_events (
      merchant_id bigint not null,
      order_id bigint not null,
      id bigint generated always as identity,
      at timestamptz not null default now(),
      type text not null,
      from_status text,
      to_status text,
      actor_type text not null check (actor_type in ('credential','store','system','admin')),
      actor text,
      data jsonb,
      primary key (merchant_id, id),
      foreign key (merchant_id, order_id) references orders(merchant_id, id) on delete cascade
    );
    create index order_events_order_idx on order_events (merchant_id, order_id, id);

    create table ship_notices (
      merchant_id bigint not null,
      id bigint generated always as identity,
      store_id bigint not null,
      received_at timestamptz not null default now(),
      query jsonb not null,
      content_type text,
      body text not null,
      order_number text,
      tracking_number text,
      status text not null default 'received' check (status in ('received','applied','duplicate','unmatched','dismissed')),
      reason text,
      order_id bigint,
      shipment_id bigint,
      resolved_at timestamptz,
      resolved_by text,
      primary key (merchant_id, id),
      foreign key (merchant_id, store_id) references stores(merchant_id, id)
    );
    create index ship_notices_status_idx on ship_notices (merchant_id, status, id);

    create table shipments (
      merchant_id bigint not null,
      id bigint generated always as identity,
      order_id bigint not null,
      store_id bigint,
      notice_id bigint,
      carrier text,
      service text,
      tracking_number text,
      ship_date date,
      label_created_at timestamptz,
      shipping_cost numeric(12,2),
      notify_customer boolean,
      idempotency_key text not null,
      created_at timestamptz not null default now(),
      confirmed_at timestamptz,
      voided_at timestamptz,
      primary key (merchant_id, id),
      foreign key (merchant_id, order_id) references orders(merchant_id, id),
      unique (merchant_id, idempotency_key)
    );
    create index shipments_pickup_idx on shipments (merchant_id, id) where confirmed_at is null and voided_at is null;
    create index shipments_order_idx on shipments (merchant_id, order_id, id);

    create table shipment_lines (
      merchant_id bigint not null,
      shipment_id bigint not null,
      order_line_id bigint not null,
      quantity integer not null check (quantity >= 0),
      requested_quantity integer not null,
      primary key (merchant_id, shipment_id, order_line_id),
      foreign key (merchant_id, shipment_id) references shipments(merchant_id, id) on delete cascade,
      foreign key (merchant_id, order_line_id) references order_lines(merchant_id, id)
    );
    -- the foreign key's own index: deleting an order line must not scan the merchant's shipment lines
    create index shipment_lines_line_idx on shipment_lines (merchant_id, order_line_id);

    create table alerts (
      merchant_id bigint not null,
      id bigint generated always as identity,
      kind text not null,
      message text not null,
      order_id bigint,
      store_id bigint,
      notice_id bigint,
      data jsonb,
      created_at timestamptz not null default now(),
      dismissed_at timestamptz,
      dismissed_by text,
      primary key (merchant_id, id)
    );
    create index alerts_open_idx on alerts (merchant_id, id) where dismissed_at is null;
    create index alerts_store_idx on alerts (merchant_id, store_id) where dismissed_at is null;

    create table export_snapshots (
      merchant_id bigint not null,
      id bigint generated always as identity,
      store_id bigint not null,
      window_start timestamptz not null,
      window_end timestamptz not null,
      page_size integer not null,
      total integer not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      primary key (merchant_id, id)
    );
    create index export_snapshots_key_idx on export_snapshots (store_id, window_start, window_end, page_size, id desc);
    create index export_snapshots_expiry_idx on export_snapshots (expires_at);

    create table export_snapshot_orders (
      merchant_id bigint not null,
      snapshot_id bigint not null,
      position integer not null,
      order_id bigint not null,
      primary key (merchant_id, snapshot_id, position),
      foreign key (merchant_id, snapshot_id) references export_snapshots(merchant_id, id) on delete cascade
    );

    create table export_log (
      merchant_id bigint not null,
      id bigint generated always as identity,
      store_id bigint not null,
      at timestamptz not null default now(),
      window_start timestamptz not null,
      window_end timestamptz not null,
      page integer not null,
      pages integer not null,
      orders integer not null,
      duration_ms double precision not null,
      primary key (merchant_id, id)
    );
    create index export_log_store_idx on export_log (merchant_id, store_id, id);

    create table auth_failures (
      username text not null,
      client text not null,
      window_start timestamptz not null,
      failures integer not null default 0,
      primary key (username, client)
    );
`;

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table if exists auth_failures, export_log, export_snapshot_orders, export_snapshots, alerts,
      shipment_lines, shipments, ship_notices, order_events, order_lines, orders, stores, credentials,
      merchants, warehouses, server_settings cascade;
  `.execute(db);
}
