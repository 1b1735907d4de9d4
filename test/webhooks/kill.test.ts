import { spawn } from 'node:child_process';
import t from 'tap';
import { dispatchEvents } from '../../src/webhooks/delivery.js';
import { createOrder } from '../shipments/helpers.js';
import { createWebhook, makeRunner, setupWebhooks } from './helpers.js';

const LEASE_MS = 3000;

// A killed process must share the database with the survivor: PGlite lives inside one process.
const skip = process.env.DATABASE_URL
  ? false
  : 'needs DATABASE_URL (a PostgreSQL server shared by two processes)';

t.test(
  'kill -9 of a worker mid-delivery: another instance delivers the event after the lease',
  { skip },
  async (t) => {
    const s = await setupWebhooks(t);
    if (!s.db.url) throw new Error('expected a PostgreSQL test database');
    await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
    s.receiver.answerWith(() => ({ status: 200, hang: true }));
    await createOrder(s.app, s.merchant);

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/webhooks/worker-child.ts'], {
      env: { ...process.env, WORKER_DB_URL: s.db.url, WORKER_LEASE_MS: String(LEASE_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    // The child dispatches the event and starts delivering it; the receiver holds the request.
    while (s.receiver.received.length === 0) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const job = await s.db.db
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', 'webhook.deliver')
      .executeTakeFirstOrThrow();
    t.equal(job.status, 'running', 'the dead worker left its job leased');
    t.equal(job.locked_by, 'child');

    s.receiver.answerWith(() => ({ status: 200 }));
    const runner = makeRunner(s.db.db, () => new Date(), { owner: 'survivor', leaseMs: LEASE_MS });
    let delivered = false;
    for (let i = 0; i < 200 && !delivered; i++) {
      await dispatchEvents(s.db.db, new Date());
      await runner.runDue();
      const d = await s.db.db.selectFrom('webhook_deliveries').select('status').executeTakeFirstOrThrow();
      delivered = d.status === 'succeeded';
      if (!delivered) await new Promise((r) => setTimeout(r, 100));
    }
    t.ok(delivered, 'delivered by the surviving instance');
    const ids = s.receiver.received.map((r) => r.headers['webhook-id']);
    t.ok(ids.length >= 2, 'sent again after the crash (at least once)');
    t.equal(new Set(ids).size, 1, 'the same event');
    const d = await s.db.db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
    t.equal(d.attempts, 1, 'only the completed attempt is recorded');
  },
);
