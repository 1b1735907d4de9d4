import t from 'tap';
import { PAUSED_RECHECK_MS } from '../../src/webhooks/delivery.js';
import { createOrder } from '../shipments/helpers.js';
import { createWebhook, deliveries, pump, type Setup, setupWebhooks } from './helpers.js';

async function setDisabled(s: Setup, disabled: boolean) {
  const r = await s.app.inject({
    method: 'PATCH',
    url: `/v1/merchants/${s.merchant.code}`,
    headers: s.warehouse.auth,
    payload: { disabled },
  });
  if (r.statusCode !== 200) throw new Error(`${r.statusCode} ${r.body}`);
}

t.test("a disabled merchant's events wait, for its own and its warehouse's webhooks", async (t) => {
  const s = await setupWebhooks(t);
  const own = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  await createWebhook(s.app, s.warehouse, s.receiver.url, ['order.created'], 'warehouses');
  const order = await createOrder(s.app, s.merchant);
  await setDisabled(s, true);
  await pump(s);
  s.clock.advance(10 * PAUSED_RECHECK_MS);
  await pump(s);
  t.equal(s.receiver.received.length, 0, 'nothing is sent while the merchant is disabled');
  const queued = await s.db.db
    .selectFrom('webhook_events')
    .select('dispatched_at')
    .where('order_id', '=', order.id)
    .executeTakeFirstOrThrow();
  t.equal(queued.dispatched_at, null, 'the event stays queued');

  await setDisabled(s, false);
  await pump(s);
  t.equal(s.receiver.received.length, 2, 'delivered to both webhooks once enabled again');
  t.same(
    s.receiver.received.map((r) => r.json.data?.['id']),
    [order.id, order.id],
  );
  const [d] = await deliveries(s, s.merchant, own.id);
  t.equal(d?.status, 'succeeded');
});

t.test('a delivery already under way is not attempted while its merchant is disabled', async (t) => {
  const s = await setupWebhooks(t);
  const hook = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  s.receiver.answerWith(() => ({ status: 500 }));
  await createOrder(s.app, s.merchant);
  await pump(s);
  t.equal(s.receiver.received.length, 1);

  await setDisabled(s, true);
  for (let i = 0; i < 12; i++) {
    s.clock.advance(3600 * 1000);
    await pump(s);
  }
  t.equal(s.receiver.received.length, 1, 'no attempt while disabled');
  const job = await s.db.db
    .selectFrom('jobs')
    .select(['status', 'attempts'])
    .where('kind', '=', 'webhook.deliver')
    .executeTakeFirstOrThrow();
  t.same(job, { status: 'pending', attempts: 1 }, 'waiting does not spend attempts');

  s.receiver.answerWith(() => ({ status: 204 }));
  await setDisabled(s, false);
  s.clock.advance(PAUSED_RECHECK_MS);
  await pump(s);
  t.equal(s.receiver.received.length, 2);
  const [d] = await deliveries(s, s.merchant, hook.id);
  t.equal(d?.status, 'succeeded');
  t.equal(d?.attempts, 2);
});
