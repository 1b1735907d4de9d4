import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The service's Prometheus series, one registry per app (tests build many apps in one process).
 * Every label has a fixed, small set of values: route templates (never raw URLs), statuses,
 * results and outcomes — never a merchant code or an id.
 */

/** The route label of requests no route matched (404s of scanners must not grow the series). */
export const UNMATCHED_ROUTE = 'unmatched';

export const INGEST_RESULTS = ['created', 'duplicate', 'conflict', 'invalid'] as const;
export const NOTICE_OUTCOMES = ['applied', 'duplicate', 'unmatched', 'unreadable', 'error'] as const;
/**
 * Webhook delivery attempts: 2xx, failed (to be retried, or a ping), or failed for good (retries
 * spent, or the webhook disabled). Source pulls that ran: finished, or failed (any error, a 429 or a
 * 401 included); a pull put off while its merchant is disabled did not run and is not counted.
 */
export const WEBHOOK_OUTCOMES = ['delivered', 'failed', 'gave_up'] as const;
export const SOURCE_PULL_OUTCOMES = ['ok', 'failed'] as const;

export interface PoolStats {
  /** Connections checked out of the pool right now. */
  inUse: number;
  /** Connections open (in use or idle). */
  total: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly exportPages: Counter;
  readonly exportOrders: Counter;
  readonly ordersIngested: Counter<'result'>;
  readonly notices: Counter<'outcome'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly sourcePulls: Counter<'outcome'>;

  constructor(poolStats: (() => PoolStats) | undefined) {
    const registers = [this.registry];
    // Process CPU, memory, GC and event-loop lag (nodejs_eventloop_lag_seconds, its p50/p90/p99).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.requestDuration = new Histogram({
      name: 'shipbridge_http_request_duration_seconds',
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.exportPages = new Counter({
      name: 'shipbridge_export_pages_total',
      help: 'Custom Store export pages served to ShipStation',
      registers,
    });
    this.exportOrders = new Counter({
      name: 'shipbridge_export_orders_total',
      help: 'Orders served in Custom Store export pages',
      registers,
    });
    this.ordersIngested = new Counter({
      name: 'shipbridge_orders_ingested_total',
      help: 'Orders posted to the REST API, by result',
      labelNames: ['result'],
      registers,
    });
    this.notices = new Counter({
      name: 'shipbridge_shipnotices_total',
      help: 'Shipment notices received from ShipStation, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'shipbridge_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.sourcePulls = new Counter({
      name: 'shipbridge_source_pulls_total',
      help: 'Pulls from order sources, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    // Every label value exists from the start, at 0: rates and alerts work before the first event.
    for (const r of INGEST_RESULTS) this.ordersIngested.inc({ result: r }, 0);
    for (const o of NOTICE_OUTCOMES) this.notices.inc({ outcome: o }, 0);
    for (const o of WEBHOOK_OUTCOMES) this.webhookDeliveries.inc({ outcome: o }, 0);
    for (const o of SOURCE_PULL_OUTCOMES) this.sourcePulls.inc({ outcome: o }, 0);

    if (poolStats) {
      new Gauge({
        name: 'shipbridge_db_pool_connections_in_use',
        help: 'Database connections checked out of the pool',
        registers,
        collect() {
          this.set(poolStats().inUse);
        },
      });
      new Gauge({
        name: 'shipbridge_db_pool_connections',
        help: 'Database connections open (in use or idle)',
        registers,
        collect() {
          this.set(poolStats().total);
        },
      });
      new Gauge({
        name: 'shipbridge_db_pool_waiting',
        help: 'Queries waiting for a database connection',
        registers,
        collect() {
          this.set(poolStats().waiting);
        },
      });
    }
  }
}
