import { type Kysely, sql } from 'kysely';

/**
 * Rules wired into the order pipeline.
 *
 * - Re-evaluating open orders after a rule change emits no webhook events: its transactions set
 *   `shipbridge.no_webhooks` (transaction-local), and the outbox triggers of order events and
 *   alerts skip such statements (a WHEN on the statement trigger: nothing runs, the functions are
 *   unchanged).
 * - Hold alerts are found by order: an index on the open alerts of an order.
 * - order_lines.excluded: the line is excluded by a rule (exclude_items), kept in step with the
 *   order's effective form by the orders service. Excluded lines are not exported, not needed for
 *   `shipped`, skipped by notice matching and counted in no summary's units; a column, so the
 *   set-wise statements of shipments and summaries read it like `adjustment`.
 */
const QUIET = `coalesce(current_setting('shipbridge.no_webhooks', true), '') <> 'on'`;

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists webhook_outbox on order_events`.execute(db);
  await sql
    .raw(`create trigger webhook_outbox after insert on order_events
    referencing new table as new_rows for each statement when (${QUIET})
    execute function webhook_outbox_order_events()`)
    .execute(db);
  await sql`drop trigger if exists webhook_outbox on alerts`.execute(db);
  await sql
    .raw(`create trigger webhook_outbox after insert on alerts
    referencing new table as new_rows for each statement when (${QUIET})
    execute function webhook_outbox_alerts()`)
    .execute(db);
  await sql`create index alerts_open_order_idx on alerts (merchant_id, order_id)
    where dismissed_at is null and order_id is not null`.execute(db);
  await sql`alter table order_lines add column excluded boolean not null default false`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and take Kysely<any>
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table order_lines drop column if exists excluded`.execute(db);
  await sql`drop index if exists alerts_open_order_idx`.execute(db);
  await sql`drop trigger if exists webhook_outbox on order_events`.execute(db);
  await sql`create trigger webhook_outbox after insert on order_events
    referencing new table as new_rows for each statement execute function webhook_outbox_order_events()`.execute(
    db,
  );
  await sql`drop trigger if exists webhook_outbox on alerts`.execute(db);
  await sql`create trigger webhook_outbox after insert on alerts
    referencing new table as new_rows for each statement execute function webhook_outbox_alerts()`.execute(
    db,
  );
}
