/**
 * BENCH_OUTBOX: what the webhook outbox costs the hot paths, measured as variants of one data set.
 *
 * - unset: as deployed without webhooks. The outbox triggers run but stop at their first probe
 *   ("is any webhook enabled?").
 * - `off`: the outbox triggers are disabled for the run: ingestion and notices as they were before
 *   webhooks existed (the "before" of the outbox).
 * - `subscribed`: every warehouse and every stand-alone merchant has an enabled webhook taking every
 *   event type, pointed at a receiver the bench runs on 127.0.0.1 (answers 204 at once). Every
 *   change then writes its outbox rows, and the service's job runner dispatches and delivers them
 *   while the scenarios run: the whole cost of webhooks being on, not only the outbox write.
 * - `written`: the same subscriptions, but the service runs with JOBS_ENABLED=false, so nothing
 *   dispatches or delivers during the run: every change still writes its outbox rows in its own
 *   transaction, and that write is the only difference from the unset mode (the outbox's cost on
 *   the hot paths, apart from the deliveries that another instance would make).
 *
 * Whatever the mode changed is undone after the size's run (triggers enabled again; webhooks, their
 * events, deliveries, attempts and jobs deleted), so the seeded database stays reusable.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { generateSecret, SecretHasher } from '../src/lib/secrets.js';
import { WEBHOOK_EVENT_TYPES } from '../src/webhooks/events.js';

export type OutboxMode = 'default' | 'off' | 'subscribed' | 'written';

export function outboxMode(): OutboxMode {
  const v = process.env['BENCH_OUTBOX'];
  if (v === undefined || v === '') return 'default';
  if (v === 'off' || v === 'subscribed' || v === 'written') return v;
  throw new Error(`BENCH_OUTBOX must be off, subscribed or written, not ${JSON.stringify(v)}`);
}

/** The outbox triggers of migration 2026-12-03T06-jobs-webhooks, as `table.trigger`. */
const TRIGGERS = [
  ['order_events', 'webhook_outbox'],
  ['alerts', 'webhook_outbox'],
  ['ship_notices', 'webhook_outbox_insert'],
  ['ship_notices', 'webhook_outbox_update'],
] as const;

export interface OutboxSetup {
  /** Extra environment for the service under test. */
  env: Record<string, string>;
  /** A line for the report: what the mode did (deliveries received, events written). */
  describe(): Promise<string | undefined>;
  teardown(): Promise<void>;
}

export async function applyOutboxMode(
  url: string,
  mode: OutboxMode,
  secretKey: string,
): Promise<OutboxSetup> {
  const none: OutboxSetup = { env: {}, describe: async () => undefined, teardown: async () => {} };
  if (mode === 'default') return none;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (mode === 'off') {
      for (const [t, name] of TRIGGERS) await client.query(`alter table ${t} disable trigger ${name}`);
      return {
        env: {},
        describe: async () =>
          'outbox triggers disabled (BENCH_OUTBOX=off): ingestion and notices without webhooks',
        teardown: async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            for (const [t, name] of TRIGGERS) await c.query(`alter table ${t} enable trigger ${name}`);
          } finally {
            await c.end();
          }
        },
      };
    }
    let received = 0;
    const receiver: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const box = new SecretHasher(secretKey).box;
    const owners = (
      await client.query<{ merchant_id: string | null; warehouse_id: string | null }>(
        `select null::bigint as merchant_id, id as warehouse_id from warehouses
         union all select id, null from merchants where warehouse_id is null`,
      )
    ).rows;
    for (const o of owners) {
      const s = box.seal(Buffer.from(generateSecret(24)));
      await client.query(
        `insert into webhooks (merchant_id, warehouse_id, url, events, secret, secret_key_id, description)
         values ($1, $2, $3, $4, $5, $6, 'bench')`,
        [
          o.merchant_id,
          o.warehouse_id,
          target,
          WEBHOOK_EVENT_TYPES.filter((t) => t !== 'ping'),
          s.sealed,
          s.keyId,
        ],
      );
    }
    const written = mode === 'written';
    return {
      env: written
        ? { WEBHOOK_ALLOW_PRIVATE: 'true', JOBS_ENABLED: 'false' }
        : { WEBHOOK_ALLOW_PRIVATE: 'true' },
      describe: async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          const r = await c.query<{ events: string; deliveries: string }>(
            `select (select count(*) from webhook_events) as events,
                    (select count(*) from webhook_deliveries) as deliveries`,
          );
          const row = r.rows[0]!;
          return (
            (written
              ? `outbox written, nothing delivered (BENCH_OUTBOX=written, the service with JOBS_ENABLED=false): `
              : `webhooks on (BENCH_OUTBOX=subscribed): `) +
            `${owners.length} subscriptions to every event type; ` +
            `${row.events} outbox events written, ${row.deliveries} deliveries made, ${received} received by the bench's receiver`
          );
        } finally {
          await c.end();
        }
      },
      teardown: async () => {
        receiver.close();
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          await c.query('begin');
          await c.query('delete from webhook_attempts');
          await c.query('delete from webhook_deliveries');
          await c.query('delete from webhook_events');
          await c.query("delete from webhooks where description = 'bench'");
          await c.query("delete from jobs where kind like 'webhook%'");
          await c.query('commit');
        } finally {
          await c.end();
        }
      },
    };
  } finally {
    await client.end();
  }
}
