import { type Kysely, sql } from 'kysely';

/**
 * Rules of the order pipeline: owned by a merchant or by a warehouse (for all its merchants), kept
 * in position order (1..n per owner, renumbered by the application under an advisory lock).
 * `conditions` and `actions` are the rule's `when` and `then` (WHEN is an SQL keyword).
 *
 * (merchants.normalise_addresses, the address normalisation setting, comes with the accounts migration.)
 * orders.effective: what normalisation and rules made of the order (null until rules are wired
 * into order creation); the sent order stays in orders.content.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table rules (
    id bigint generated always as identity primary key,
    merchant_id bigint references merchants(id),
    warehouse_id bigint references warehouses(id),
    name text not null,
    enabled boolean not null default true,
    position integer not null,
    conditions jsonb not null default '[]',
    actions jsonb not null,
    stop boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint rules_one_owner check ((merchant_id is null) <> (warehouse_id is null))
  )`.execute(db);
  await sql`create index rules_merchant_idx on rules (merchant_id, position) where merchant_id is not null`.execute(
    db,
  );
  await sql`create index rules_warehouse_idx on rules (warehouse_id, position) where warehouse_id is not null`.execute(
    db,
  );
  await sql`alter table orders add column effective jsonb`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table orders drop column if exists effective`.execute(db);
  await sql`drop table if exists rules`.execute(db);
}
