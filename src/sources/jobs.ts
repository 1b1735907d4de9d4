/**
 * The background work of source connections, as jobs of the jobs runner:
 * - `source.pull`: one row per source (a singleton), re-armed after every run: at the source's poll
 *   interval, at once when a pull was asked for meanwhile or the run handed over at its budget,
 *   later with a growing delay after a failure (or when ShipStation's window ends after a 429).
 *   A 401 disables the source with an alert; its job then ends until the source is enabled again.
 * - `source.mark_shipped`: queued by the outbox trigger when a pulled order becomes shipped here;
 *   tells the source account once (markasshipped) with the first live package, retried like a
 *   webhook delivery, recorded on the shipment; a final failure raises an alert, and so does every
 *   package the source was not told about (the others at that moment, and any later one).
 * Every outcome is written with the job's settlement in one transaction; no transaction is open
 * during a call to ShipStation. While the source's merchant is disabled both jobs call nobody and
 * look again every MERCHANT_PAUSED_RECHECK_MS, so they resume by themselves once it is enabled.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../db/schema.js';
import { merchantEnabledSql } from '../accounts/repository.js';
import type { Job, Settlement } from '../jobs/queue.js';
import type { JobContext, JobHandler } from '../jobs/runner.js';
import { MERCHANT_PAUSED_RECHECK_MS, retrySettlement, WEBHOOK_RETRY_DELAYS_MS } from '../jobs/schedule.js';
import type { Metrics } from '../metrics/metrics.js';
import { raiseAlerts } from './alerts.js';
import { ApiFailure, ShipStationApi } from './api.js';
import { carrierCode, FAILING_AFTER } from './model.js';
import { type PullDeps, type PullResult, pullSource } from './pull.js';
import { MARK_SHIPPED_JOB, openAccount, PULL_JOB } from './repository.js';

export interface SourceJobDeps extends PullDeps {
  logger?: Logger | undefined;
  /** Counts every pull that ran, by outcome (absent in tests that do not look). */
  metrics?: Pick<Metrics, 'sourcePulls'> | undefined;
}

const S = 1_000;
const M = 60 * S;
/** After failed pulls in a row: 30 s, 1 min, 2 min, 5 min, 10 min, then 30 min. */
const PULL_BACKOFF_MS = [30 * S, M, 2 * M, 5 * M, 10 * M, 30 * M];

function failureMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Put off while the merchant is disabled: not an attempt, so nothing is spent or reset. */
const paused = (ctx: JobContext): Settlement => ({
  kind: 'again',
  at: new Date(ctx.clock().getTime() + MERCHANT_PAUSED_RECHECK_MS),
  uncounted: true,
});

export function sourceJobHandlers(deps: SourceJobDeps): JobHandler[] {
  return [pullJob(deps), markShippedJob(deps)];
}

function pullJob(deps: SourceJobDeps): JobHandler {
  const { db } = deps;
  return {
    kind: PULL_JOB,
    // Used only when settling itself failed (the database was away): the pull settles every outcome.
    retryDelaysMs: Array.from({ length: 50 }, () => M),
    async run(job: Job, ctx: JobContext) {
      const sourceId = Number((job.payload as { source_id?: unknown }).source_id);
      const source = await db
        .selectFrom('sources')
        .selectAll()
        .select(merchantEnabledSql('sources.merchant_id').as('merchant_enabled'))
        .where('id', '=', sourceId)
        .executeTakeFirst();
      if (!source?.enabled || source.retired_at) {
        await ctx.settle(db, { kind: 'succeeded' });
        return;
      }
      if (!source.merchant_enabled) {
        await ctx.settle(db, paused(ctx));
        return;
      }
      const started = ctx.clock();
      let result: PullResult | null = null;
      let failure: unknown = null;
      try {
        result = await pullSource(deps, source, ctx);
      } catch (err) {
        // Stopped or out of lease: the runner gives the job back.
        if (ctx.signal.aborted) throw err;
        failure = err;
      }
      const now = ctx.clock();
      if (failure)
        deps.logger?.warn({ source: sourceId, err: failureMessage(failure) }, 'source pull failed');
      await db.transaction().execute(async (trx) => {
        const cur = await trx
          .selectFrom('sources')
          .select(['pull_requested_at', 'poll_minutes', 'failures', 'name', 'enabled'])
          .where('id', '=', sourceId)
          .forUpdate()
          .executeTakeFirstOrThrow();
        if (failure instanceof ApiFailure && failure.kind === 'unauthorized') {
          await disableFor401(trx, source.merchant_id, sourceId, cur.name, now);
          await ctx.settle(trx, { kind: 'succeeded' });
          return;
        }
        if (failure instanceof ApiFailure && failure.kind === 'rate_limited' && failure.retryAt) {
          // The key pair's budget is spent (by us or anything else using those keys): not a fault.
          await ctx.settle(trx, { kind: 'again', at: failure.retryAt, resetAttempts: true });
          return;
        }
        if (failure) {
          const failures = cur.failures + 1;
          const delay = PULL_BACKOFF_MS[Math.min(failures, PULL_BACKOFF_MS.length) - 1]!;
          const retryAt = failure instanceof ApiFailure ? failure.retryAt : null;
          const at = new Date(Math.max(now.getTime() + delay, retryAt?.getTime() ?? 0));
          await trx
            .updateTable('sources')
            .set({ failures, last_pull_error: failureMessage(failure).slice(0, 500), updated_at: now })
            .where('id', '=', sourceId)
            .execute();
          if (failures === FAILING_AFTER)
            await raiseAlerts(trx, source.merchant_id, sourceId, [
              {
                kind: 'source_failing',
                message: `source '${cur.name}': ${failures} pulls in a row failed, the last with: ${failureMessage(failure)}`,
              },
            ]);
          await ctx.settle(trx, { kind: 'again', at, error: failureMessage(failure), resetAttempts: true });
          return;
        }
        const requested = cur.pull_requested_at !== null && cur.pull_requested_at > started;
        const next = result!.more || requested ? now : new Date(now.getTime() + cur.poll_minutes * M);
        await trx
          .updateTable('sources')
          .set({
            last_pull_at: now,
            last_pull_error: null,
            last_pull_orders: result!.orders,
            failures: 0,
          })
          .where('id', '=', sourceId)
          .execute();
        await ctx.settle(trx, { kind: 'again', at: next, resetAttempts: true });
      });
      // Counted once the outcome is recorded: a pull whose settlement failed runs again.
      deps.metrics?.sourcePulls.inc({ outcome: failure ? 'failed' : 'ok' });
    },
  };
}

/** Takes a share lock on the order (writers of its shipments hold it for update); answers its status. */
async function shareLockOrder(trx: Kysely<DB>, merchantId: number, orderId: number): Promise<string | null> {
  const row = await trx
    .selectFrom('orders')
    .select('status')
    .where('merchant_id', '=', merchantId)
    .where('id', '=', orderId)
    .forShare()
    .executeTakeFirst();
  return row?.status ?? null;
}

async function disableFor401(
  trx: Kysely<DB>,
  merchantId: number,
  sourceId: number,
  name: string,
  now: Date,
): Promise<void> {
  const r = await trx
    .updateTable('sources')
    .set({
      enabled: false,
      disabled_reason: 'ShipStation refused the API key pair (401): enter the current key and secret',
      last_pull_error: 'ShipStation answered 401',
      updated_at: now,
    })
    .where('id', '=', sourceId)
    .where('enabled', '=', true)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 1)
    await raiseAlerts(trx, merchantId, sourceId, [
      {
        kind: 'source_disabled',
        message: `source '${name}' was disabled: ShipStation refused its API key pair (401). Regenerated keys break every connection that used them: PATCH the source with the new api_key and api_secret`,
      },
    ]);
}

function markShippedJob(deps: SourceJobDeps): JobHandler {
  const { db } = deps;
  return {
    kind: MARK_SHIPPED_JOB,
    retryDelaysMs: WEBHOOK_RETRY_DELAYS_MS,
    async run(job: Job, ctx: JobContext) {
      const p = job.payload as { merchant_id?: unknown; order_id?: unknown };
      const merchantId = Number(p.merchant_id);
      const orderId = Number(p.order_id);
      const link = await db
        .selectFrom('source_orders as so')
        .innerJoin('sources as s', 's.id', 'so.source_id')
        .innerJoin('orders as o', (j) =>
          j.onRef('o.merchant_id', '=', 'so.merchant_id').onRef('o.id', '=', 'so.order_id'),
        )
        .select([
          'so.ss_order_id',
          'so.notified_at',
          'o.status',
          'o.order_number',
          's.id as source_id',
          's.name',
          's.api_key',
          's.api_secret',
          's.api_secret_key_id',
          's.key_pair',
        ])
        .select(merchantEnabledSql('so.merchant_id').as('merchant_enabled'))
        .where('so.merchant_id', '=', merchantId)
        .where('so.order_id', '=', orderId)
        .executeTakeFirst();
      // Told already: nothing to tell.
      if (!link || link.notified_at !== null) return;
      if (link.status !== 'shipped' && link.status !== 'confirmed') {
        // No longer shipped (its shipment was voided): nothing to tell now. Decided under the order's
        // lock, so a new shipment either committed before (told at once, by running again) or finds
        // this job finished (and the outbox trigger queues it again).
        await db.transaction().execute(async (trx) => {
          const now = await shareLockOrder(trx, merchantId, orderId);
          await ctx.settle(
            trx,
            now === 'shipped' || now === 'confirmed'
              ? { kind: 'again', at: ctx.clock(), uncounted: true }
              : { kind: 'succeeded' },
          );
        });
        return;
      }
      const shipment = await db
        .selectFrom('shipments')
        .select(['id', 'carrier', 'tracking_number', 'ship_date', 'notify_customer', 'created_at'])
        .where('merchant_id', '=', merchantId)
        .where('order_id', '=', orderId)
        .where('voided_at', 'is', null)
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (!shipment) return;
      if (!link.merchant_enabled) {
        await ctx.settle(db, paused(ctx));
        return;
      }
      const body = {
        orderId: Number(link.ss_order_id),
        carrierCode: carrierCode(shipment.carrier),
        shipDate: shipment.ship_date ?? shipment.created_at.toISOString().slice(0, 10),
        trackingNumber: shipment.tracking_number,
        notifyCustomer: shipment.notify_customer ?? false,
        notifySalesChannel: true,
      };
      const api = new ShipStationApi(openAccount(deps.box, link), {
        baseUrl: deps.apiUrl,
        db,
        clock: ctx.clock,
        signal: ctx.signal,
        timeoutMs: deps.timeoutMs,
      });
      let failure: unknown = null;
      try {
        await api.post('/orders/markasshipped', body);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        failure = err;
      }
      const now = ctx.clock();
      await db.transaction().execute(async (trx) => {
        if (!failure) {
          // Under the order's lock, so a package applied meanwhile is seen here or sees notified_at
          // (and the outbox trigger raises its alert): each untold package raises one alert.
          await shareLockOrder(trx, merchantId, orderId);
          const untold = await trx
            .selectFrom('shipments')
            .select(['id', 'tracking_number'])
            .where('merchant_id', '=', merchantId)
            .where('order_id', '=', orderId)
            .where('voided_at', 'is', null)
            .where('id', '<>', shipment.id)
            .orderBy('id')
            .execute();
          await raiseAlerts(
            trx,
            merchantId,
            Number(link.source_id),
            untold.map((x) => ({
              kind: 'source_later_package' as const,
              message: `order ${link.order_number} shipped in more than one package; source '${link.name}' was told the first (tracking ${shipment.tracking_number ?? 'none'}), not this one (tracking ${x.tracking_number ?? 'none'}): add it there by hand if needed`,
              orderId,
              data: { ss_order_id: Number(link.ss_order_id), shipment_id: x.id },
            })),
          );
          await trx
            .updateTable('shipments')
            .set({ source_notified_at: now })
            .where('merchant_id', '=', merchantId)
            .where('id', '=', shipment.id)
            .execute();
          await trx
            .updateTable('source_orders')
            .set({ notified_at: now, updated_at: now })
            .where('merchant_id', '=', merchantId)
            .where('order_id', '=', orderId)
            .execute();
          await ctx.settle(trx, { kind: 'succeeded' });
          return;
        }
        const message = failureMessage(failure);
        if (failure instanceof ApiFailure && failure.kind === 'unauthorized')
          await disableFor401(trx, merchantId, Number(link.source_id), link.name, now);
        const s: Settlement = retrySettlement(
          job,
          WEBHOOK_RETRY_DELAYS_MS,
          now,
          message,
          failure instanceof ApiFailure ? (failure.retryAt ?? undefined) : undefined,
        );
        if (s.kind === 'failed')
          await raiseAlerts(trx, merchantId, Number(link.source_id), [
            {
              kind: 'source_notify_failed',
              message: `order ${link.order_number} shipped (tracking ${shipment.tracking_number ?? 'none'}), but source '${link.name}' could not be told after ${job.attempts} attempts: ${message}; mark it shipped in ShipStation by hand`,
              orderId,
              data: { ss_order_id: Number(link.ss_order_id), shipment_id: shipment.id },
            },
          ]);
        await ctx.settle(trx, s);
      });
    },
  };
}
