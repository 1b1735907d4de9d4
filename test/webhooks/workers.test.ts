import t from 'tap';
import { dispatchEvents } from '../../src/webhooks/delivery.js';
import { createOrder } from '../shipments/helpers.js';
import { createWebhook, makeRunner, setupWebhooks } from './helpers.js';

const S = 1000;
const _H = 3600 * S;

t.test('a worker that dies mid-delivery: the event is delivered later by another, never lost', async (t) => {
  const s = await setupWebhooks(t);
  await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  await createOrder(s.app, s.merchant);
  await dispatchEvents(s.db.db, s.clock.now());
  // Worker A takes the delivery and hangs on a receiver that never answers, then its process dies:
  // its request is cut (the receiver saw it) and it never records anything.
  s.receiver.answerWith(() => ({ hang: true, status: 0 }));
  const lease = 30 * S;
  const a = makeRunner(s.db.db, s.clock.now, { owner: 'A', leaseMs: lease });
  const running = a.runDue();
  while (s.receiver.received.length === 0) await new Promise((r) => setTimeout(r, 10));
  await a.stop(0); // abort A's request and give nothing back: simulated below as a crash
  await running;
  // A crash gives nothing back: put the job back in the state a dead worker leaves (running, leased).
  await s.db.db
    .updateTable('jobs')
    .set({ status: 'running', lease: 'dead-worker', run_at: new Date(s.clock.now().getTime() + lease) })
    .where('kind', '=', 'webhook.deliver')
    .execute();
  s.receiver.answerWith(() => ({ status: 200 }));
  const b = makeRunner(s.db.db, s.clock.now, { owner: 'B', leaseMs: lease });
  t.equal(await b.runDue(), 0, 'not taken over while the dead worker holds the lease');
  s.clock.advance(lease);
  t.equal(await b.runDue(), 1, 'taken over once the lease ends');
  t.equal(s.receiver.received.length, 2, 'delivered again (at least once)');
  t.equal(s.receiver.received[0]?.headers['webhook-id'], s.receiver.received[1]?.headers['webhook-id']);
  const d = await s.db.db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
  t.equal(d.status, 'succeeded');
  t.equal(d.attempts, 1, 'the dead attempt recorded nothing');
});
