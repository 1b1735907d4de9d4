/**
 * Delivery of webhook events, as background jobs:
 *
 * - `webhooks.dispatch` (every second): takes undispatched outbox events (SKIP LOCKED), creates one
 *   delivery per enabled webhook subscribed to the event's type, each with its `webhook.deliver` job,
 *   and marks the events dispatched — one statement, so an event is dispatched exactly once.
 *   A disabled merchant's events stay undispatched (for its own and its warehouse's webhooks) until
 *   it is enabled again; deliveries created before it was disabled wait too (see `deliver`).
 * - `webhook.deliver`: reads the delivery (no transaction open), POSTs it signed, then records the
 *   attempt, the delivery's and the webhook's state and the job's settlement in ONE transaction. A
 *   crash before that commit leaves the job leased; another instance takes it over when the lease
 *   ends and delivers again (at least once, never lost).
 * - `webhooks.maintain` (every 10 minutes): disables webhooks with no 2xx for 3 days, and deletes
 *   events delivered more than 30 days ago (with their deliveries and attempts) and old finished
 *   jobs, in batches.
 */
import { type Kysely, sql } from 'kysely';
import { merchantEnabledSql } from '../accounts/repository.js';
import type { DB, WebhookRow } from '../db/schema.js';
import type { Metrics, WEBHOOK_OUTCOMES } from '../metrics/metrics.js';
import { deleteFinished, type Job, type Settlement } from '../jobs/queue.js';
import type { JobContext, JobHandler } from '../jobs/runner.js';
import { MERCHANT_PAUSED_RECHECK_MS, retrySettlement, WEBHOOK_RETRY_DELAYS_MS } from '../jobs/schedule.js';
import { loadOrders } from '../orders/view.js';
import { ALERT_COLUMNS, getShipment } from '../shipments/repository.js';
import { DELIVER_JOB, type WebhooksRepository } from './repository.js';
import { type SendResult, sendWebhook } from './send.js';
import { signedHeaders } from './signing.js';

const DAY_MS = 24 * 3600 * 1000;
/** A webhook with no 2xx answer for this long is disabled. */
export const DISABLE_AFTER_MS = 3 * DAY_MS;
/** Delivered events are kept this long. */
export const RETENTION_MS = 30 * DAY_MS;
const DISPATCH_BATCH = 500;
/** How often a delivery waiting on a disabled merchant looks again. */
export const PAUSED_RECHECK_MS = MERCHANT_PAUSED_RECHECK_MS;
const CLEANUP_BATCH = 1000;

export const DISPATCH_JOB = 'webhooks.dispatch';
export const MAINTAIN_JOB = 'webhooks.maintain';

export interface DeliveryDeps {
  db: Kysely<DB>;
  webhooks: WebhooksRepository;
  allowPrivate: boolean;
  /** Counts every recorded attempt by outcome (absent in tests that do not look). */
  metrics?: Pick<Metrics, 'webhookDeliveries'> | undefined;
  /** Overrides the 10 s timeout (tests). */
  timeoutMs?: number;
}

/** Creates the deliveries (and their jobs) of up to `limit` undispatched events. Answers how many events. */
export async function dispatchEvents(db: Kysely<DB>, now: Date, limit = DISPATCH_BATCH): Promise<number> {
  const r = await sql<{ events: number }>`
    with ev as materialized (
      select e.id, e.merchant_id, e.type from webhook_events e
      where e.dispatched_at is null and ${merchantEnabledSql('e.merchant_id')}
      order by e.id
      limit ${limit}
      for update skip locked
    ),
    mark as (
      update webhook_events e set dispatched_at = ${now}::timestamptz from ev where e.id = ev.id
    ),
    pairs as materialized (
      select nextval(pg_get_serial_sequence('webhook_deliveries', 'id')) as did,
        nextval(pg_get_serial_sequence('jobs', 'id')) as jid, w.id as wid, ev.id as eid
      from ev
      join merchants m on m.id = ev.merchant_id
      join webhooks w on w.enabled and ev.type = any(w.events)
        and (w.merchant_id = ev.merchant_id or w.warehouse_id = m.warehouse_id)
      order by ev.id, w.id
    ),
    d as (
      insert into webhook_deliveries (id, webhook_id, event_id, job_id, created_at)
      overriding system value
      select did, wid, eid, jid, ${now}::timestamptz from pairs
    ),
    j as (
      insert into jobs (id, kind, payload, run_at, max_attempts, created_at, updated_at)
      overriding system value
      select jid, ${DELIVER_JOB}, jsonb_build_object('delivery_id', did), ${now}::timestamptz,
        ${WEBHOOK_RETRY_DELAYS_MS.length + 1}, ${now}::timestamptz, ${now}::timestamptz
      from pairs
    )
    select count(*)::int as events from ev
  `.execute(db);
  return r.rows[0]?.events ?? 0;
}

interface DeliveryRow {
  id: number;
  status: string;
  event_id: number;
  type: string;
  merchant_id: number | null;
  merchant_code: string | null;
  merchant_disabled: boolean;
  order_id: number | null;
  subject_id: number | null;
  event_created_at: Date;
  webhook: WebhookRow;
}

async function readDelivery(db: Kysely<DB>, deliveryId: number): Promise<DeliveryRow | undefined> {
  const d = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .leftJoin('merchants as m', 'm.id', 'e.merchant_id')
    .select([
      'd.id',
      'd.status',
      'd.webhook_id',
      'e.id as event_id',
      'e.type',
      'e.merchant_id',
      'm.code as merchant_code',
      sql<boolean>`m.disabled_at is not null`.as('merchant_disabled'),
      'e.order_id',
      'e.subject_id',
      'e.created_at as event_created_at',
    ])
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();
  if (!d) return undefined;
  const webhook = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', d.webhook_id)
    .executeTakeFirst();
  return webhook ? { ...d, webhook } : undefined;
}

/** The event's `data`: the order, shipment, notice or alert as the REST API answers it now. */
async function eventData(db: Kysely<DB>, d: DeliveryRow): Promise<unknown> {
  const m = d.merchant_id;
  if (d.type === 'ping') return { webhook_id: d.webhook.id, message: 'ping from shipbridge' };
  if (m === null) return null;
  if (d.type.startsWith('order.') && d.order_id !== null) {
    const [order] = await loadOrders(db, m, [d.order_id]);
    return order ?? null;
  }
  if (d.type.startsWith('shipment.') && d.subject_id !== null) {
    return getShipment(db, m, d.subject_id).catch(() => null);
  }
  if (d.type === 'shipnotice.unmatched' && d.subject_id !== null) {
    return (
      (await db
        .selectFrom('ship_notices')
        .select(['id', 'received_at', 'store_id', 'status', 'order_number', 'tracking_number', 'reason'])
        .where('merchant_id', '=', m)
        .where('id', '=', d.subject_id)
        .executeTakeFirst()) ?? null
    );
  }
  if (d.type === 'alert.created' && d.subject_id !== null) {
    return (
      (await db
        .selectFrom('alerts')
        .select(ALERT_COLUMNS)
        .where('merchant_id', '=', m)
        .where('id', '=', d.subject_id)
        .executeTakeFirst()) ?? null
    );
  }
  return null;
}

export const eventId = (id: number) => `evt_${id}`;

/** The body and headers of one attempt (signed with the attempt's time). */
export async function buildRequest(
  deps: DeliveryDeps,
  d: DeliveryRow,
  now: Date,
): Promise<{ body: string; headers: Record<string, string> }> {
  const body = JSON.stringify({
    id: eventId(d.event_id),
    type: d.type,
    created_at: d.event_created_at,
    merchant: d.merchant_code,
    sequence: d.event_id,
    data: await eventData(deps.db, d),
  });
  const keys = deps.webhooks.signingKeys(d.webhook, now);
  return { body, headers: signedHeaders(keys, eventId(d.event_id), Math.floor(now.getTime() / 1000), body) };
}

const describe = (r: SendResult) => r.error ?? `answered ${r.status}`;

type AttemptOutcome = (typeof WEBHOOK_OUTCOMES)[number];

interface Recorded {
  settlement: Settlement | null;
  /** 'gave_up': the delivery failed for good (retries spent, or its webhook was disabled). */
  outcome: AttemptOutcome;
}

/** Counted once the attempt's transaction has committed: a rolled-back attempt is not one. */
const count = (deps: DeliveryDeps, outcome: AttemptOutcome) =>
  deps.metrics?.webhookDeliveries.inc({ outcome });

/**
 * Records one attempt and what follows from it, in the caller's transaction: the delivery's state,
 * the webhook's (success clock, disabling on 410 or after 3 days without a 2xx, with an alert), and
 * the job's settlement (`settlement` null: ping, no job). Answers the settlement and the outcome
 * for the metrics.
 */
async function recordAttempt(
  trx: Kysely<DB>,
  d: DeliveryRow,
  r: SendResult,
  now: Date,
  nextSettlement: ((error: string, notBefore: Date | null) => Settlement) | null,
): Promise<Recorded> {
  const ok = r.status !== null && r.status >= 200 && r.status < 300;
  await trx
    .insertInto('webhook_attempts')
    .values({
      delivery_id: d.id,
      at: now,
      status_code: r.status,
      error: r.error,
      duration_ms: r.durationMs,
      response_body: r.body,
    })
    .execute();
  const w = d.webhook;
  let settlement: Settlement | null = null;
  let status: 'succeeded' | 'failed' | 'pending';
  if (ok) {
    status = 'succeeded';
    settlement = { kind: 'succeeded' };
    await trx
      .updateTable('webhooks')
      .set({ last_success_at: now, failing_since: null })
      .where('id', '=', w.id)
      .execute();
  } else {
    const failingSince = w.failing_since ?? now;
    let disable: string | null = null;
    if (r.status === 410) disable = 'the receiver answered 410 Gone';
    else if (now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS) disable = 'no 2xx answer for 3 days';
    if (disable) {
      await disableWebhook(trx, w, disable, d.merchant_id, now);
      status = 'failed';
      settlement = nextSettlement ? { kind: 'failed', error: disable } : null;
    } else {
      await trx
        .updateTable('webhooks')
        .set({ failing_since: sql`coalesce(failing_since, ${now}::timestamptz)` })
        .where('id', '=', w.id)
        .execute();
      settlement = nextSettlement ? nextSettlement(describe(r), r.retryAfter) : null;
      status = settlement?.kind === 'again' ? 'pending' : 'failed';
      if (status === 'failed' && settlement && d.merchant_id !== null) {
        await trx
          .insertInto('alerts')
          .values({
            merchant_id: d.merchant_id,
            kind: 'webhook_delivery_failed',
            message: `webhook ${w.id}: event ${eventId(d.event_id)} (${d.type}) could not be delivered to ${w.url} after every retry (last: ${describe(r)})`,
            order_id: d.order_id,
            data: JSON.stringify({ webhook_id: w.id, delivery_id: d.id, event_id: eventId(d.event_id) }),
          })
          .execute();
      }
    }
  }
  await trx
    .updateTable('webhook_deliveries')
    .set({
      status,
      attempts: sql`attempts + 1`,
      last_status_code: r.status,
      last_error: ok ? null : describe(r),
      last_duration_ms: r.durationMs,
      last_attempt_at: now,
      ...(ok ? { delivered_at: now } : {}),
    })
    .where('id', '=', d.id)
    .execute();
  // A ping has no retries: its failure is a failed attempt, not a delivery given up.
  const outcome = ok ? 'delivered' : status === 'failed' && nextSettlement ? 'gave_up' : 'failed';
  return { settlement, outcome };
}

async function disableWebhook(
  trx: Kysely<DB>,
  w: Pick<WebhookRow, 'id' | 'url'>,
  reason: string,
  merchantId: number | null,
  now: Date,
): Promise<void> {
  const changed = await trx
    .updateTable('webhooks')
    .set({ enabled: false, disabled_reason: reason, updated_at: now })
    .where('id', '=', w.id)
    .where('enabled', '=', true)
    .executeTakeFirst();
  if (Number(changed.numUpdatedRows) === 0 || merchantId === null) return;
  await trx
    .insertInto('alerts')
    .values({
      merchant_id: merchantId,
      kind: 'webhook_disabled',
      message: `webhook ${w.id} (${w.url}) was disabled: ${reason}; fix the receiver, then PATCH it with {"enabled": true}`,
      data: JSON.stringify({ webhook_id: w.id, reason }),
    })
    .execute();
}

/** One attempt of a delivery job. */
async function deliver(deps: DeliveryDeps, job: Job, ctx: JobContext): Promise<void> {
  const deliveryId = Number(job.payload['delivery_id']);
  const d = await readDelivery(deps.db, deliveryId);
  if (d?.status !== 'pending') return; // deleted with its webhook, or already settled
  if (!d.webhook.enabled) {
    await deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('webhook_deliveries').set({ status: 'skipped' }).where('id', '=', d.id).execute();
      await ctx.settle(trx, { kind: 'succeeded' });
    });
    return;
  }
  if (d.merchant_disabled) {
    // Paused, not failed: the attempt is not counted, so the retry schedule resumes where it was.
    await deps.db.transaction().execute((trx) =>
      ctx.settle(trx, {
        kind: 'again',
        at: new Date(ctx.clock().getTime() + PAUSED_RECHECK_MS),
        uncounted: true,
      }),
    );
    return;
  }
  const now = ctx.clock();
  const req = await buildRequest(deps, d, now);
  const result = await sendWebhook(d.webhook.url, req.headers, req.body, {
    allowPrivate: deps.allowPrivate,
    signal: ctx.signal,
    now: ctx.clock,
    ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
  });
  // Stopped mid-flight: record nothing; the runner gives the job back and it is attempted again.
  if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
  const at = ctx.clock();
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const r = await recordAttempt(trx, d, result, at, (error, notBefore) =>
      retrySettlement(job, WEBHOOK_RETRY_DELAYS_MS, at, error, notBefore ?? undefined),
    );
    await ctx.settle(trx, r.settlement!);
    return r.outcome;
  });
  count(deps, outcome);
}

/**
 * A ping, sent at once while the caller waits (POST …/test): an event and a delivery of its own,
 * one attempt, no retries. No transaction is open during the call.
 */
export async function ping(
  deps: DeliveryDeps,
  webhookId: number,
  merchantId: number | null,
  now: () => Date,
) {
  const created = await deps.db.transaction().execute(async (trx) => {
    const ev = await trx
      .insertInto('webhook_events')
      .values({ merchant_id: merchantId, type: 'ping', created_at: now(), dispatched_at: now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    return trx
      .insertInto('webhook_deliveries')
      .values({ webhook_id: webhookId, event_id: ev.id, created_at: now() })
      .returning('id')
      .executeTakeFirstOrThrow();
  });
  const d = (await readDelivery(deps.db, created.id))!;
  const req = await buildRequest(deps, d, now());
  const result = await sendWebhook(d.webhook.url, req.headers, req.body, {
    allowPrivate: deps.allowPrivate,
    now,
    ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
  });
  const recorded = await deps.db.transaction().execute((trx) => recordAttempt(trx, d, result, now(), null));
  count(deps, recorded.outcome);
  return {
    delivery_id: d.id,
    event_id: eventId(d.event_id),
    status_code: result.status,
    error: result.error,
    duration_ms: result.durationMs,
  };
}

/** Disables webhooks failing for 3 days; deletes old delivered events and finished jobs, in batches. */
async function maintain(db: Kysely<DB>, now: Date): Promise<void> {
  const stale = await db
    .selectFrom('webhooks as w')
    .select(['w.id', 'w.url', 'w.merchant_id'])
    .select(
      sql<number | null>`coalesce(w.merchant_id, (select e.merchant_id from webhook_deliveries d
        join webhook_events e on e.id = d.event_id where d.webhook_id = w.id order by d.id desc limit 1))`.as(
        'alert_merchant',
      ),
    )
    .where('w.enabled', '=', true)
    .where('w.failing_since', '<=', new Date(now.getTime() - DISABLE_AFTER_MS))
    .execute();
  for (const w of stale) {
    await db
      .transaction()
      .execute((trx) => disableWebhook(trx, w, 'no 2xx answer for 3 days', w.alert_merchant, now));
  }
  const before = new Date(now.getTime() - RETENTION_MS);
  for (;;) {
    const r = await sql`
      delete from webhook_events where id in (
        select e.id from webhook_events e
        where e.dispatched_at < ${before}::timestamptz
          and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.status = 'pending')
        limit ${CLEANUP_BATCH}
      )
    `.execute(db);
    if (Number(r.numAffectedRows ?? 0) < CLEANUP_BATCH) break;
  }
  while ((await deleteFinished(db, before, CLEANUP_BATCH)) === CLEANUP_BATCH) {}
}

export function webhookJobHandlers(deps: DeliveryDeps): JobHandler[] {
  return [
    {
      kind: DISPATCH_JOB,
      retryDelaysMs: [],
      everyMs: 1000,
      run: async (_job, ctx) => {
        while ((await dispatchEvents(deps.db, ctx.clock())) === DISPATCH_BATCH && !ctx.signal.aborted) {}
      },
    },
    { kind: DELIVER_JOB, retryDelaysMs: WEBHOOK_RETRY_DELAYS_MS, run: (job, ctx) => deliver(deps, job, ctx) },
    {
      kind: MAINTAIN_JOB,
      retryDelaysMs: [],
      everyMs: 10 * 60 * 1000,
      run: (_job, ctx) => maintain(deps.db, ctx.clock()),
    },
  ];
}
