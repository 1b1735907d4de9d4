import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_RETRY_DELAYS_MS } from '../../src/jobs/schedule.js';
import { createOrder } from '../shipments/helpers.js';
import { createWebhook, deliveries, pump, setupWebhooks } from './helpers.js';

const S = 1000;
const H = 3600 * S;

t.test('manual retry of a failed delivery delivers it again', async (t) => {
  const s = await setupWebhooks(t);
  const hook = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  s.receiver.answerWith(() => ({ status: 500 }));
  await createOrder(s.app, s.merchant);
  await pump(s);
  for (const delay of WEBHOOK_RETRY_DELAYS_MS) {
    s.clock.advance(delay);
    await pump(s);
  }
  let [d] = await deliveries(s, s.merchant, hook.id);
  t.equal(d?.status, 'failed');
  s.receiver.answerWith(() => ({ status: 200 }));
  const r = await s.app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/webhooks/${hook.id}/deliveries/${d!.id}/retry`,
    headers: s.merchant.auth,
  });
  t.equal(r.statusCode, 202, r.body);
  t.equal(await s.runner.runDue(), 1);
  [d] = await deliveries(s, s.merchant, hook.id);
  t.equal(d?.status, 'succeeded');
  t.equal(d?.attempts, 9);
  t.equal(s.receiver.received.at(-1)?.headers['webhook-id'], s.receiver.received[0]?.headers['webhook-id']);
  const other = await s.app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.solo.code}/webhooks/${hook.id}/deliveries/${d!.id}/retry`,
    headers: s.solo.auth,
  });
  t.equal(other.statusCode, 404, "another merchant's delivery is not found");
});

t.test('a rotated secret: both sign for 24 hours, then only the new one', async (t) => {
  const s = await setupWebhooks(t);
  const hook = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  const r = await s.app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.merchant.code}/webhooks/${hook.id}/rotate-secret`,
    headers: s.merchant.auth,
  });
  t.equal(r.statusCode, 200);
  const fresh = r.json().secret as string;
  t.not(fresh, hook.secret);
  t.ok(r.json().webhook.previous_secret_expires_at);
  await createOrder(s.app, s.merchant);
  await pump(s);
  const got = s.receiver.received[0]!;
  const headers = {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  };
  t.equal(headers['webhook-signature'].split(' ').length, 2, 'two signatures, space-separated');
  t.ok(new Webhook(fresh).verify(got.body, headers), 'the new secret verifies');
  t.ok(new Webhook(hook.secret).verify(got.body, headers), 'the old secret still verifies');

  s.clock.advance(25 * H);
  await createOrder(s.app, s.merchant);
  await pump(s);
  const later = s.receiver.received[1]!;
  t.equal(String(later.headers['webhook-signature']).split(' ').length, 1, 'after 24 h, one signature');
  const stampLater = Number(later.headers['webhook-timestamp']) * 1000;
  const h2 = {
    'webhook-id': String(later.headers['webhook-id']),
    'webhook-timestamp': String(later.headers['webhook-timestamp']),
    'webhook-signature': String(later.headers['webhook-signature']),
  };
  // The library checks the timestamp against its own clock: verify at the test clock's time.
  const realNow = Date.now;
  Date.now = () => stampLater;
  try {
    t.ok(new Webhook(fresh).verify(later.body, h2));
    t.throws(() => new Webhook(hook.secret).verify(later.body, h2));
  } finally {
    Date.now = realNow;
  }
});

t.test('test ping: sent at once, signed, answered with how it went', async (t) => {
  const s = await setupWebhooks(t);
  const hook = await createWebhook(s.app, s.warehouse, s.receiver.url, ['alert.created'], 'warehouses');
  const r = await s.app.inject({
    method: 'POST',
    url: `/v1/warehouses/${s.warehouse.code}/webhooks/${hook.id}/test`,
    headers: s.warehouse.auth,
  });
  t.equal(r.statusCode, 200, r.body);
  t.equal(r.json().delivered, true);
  t.equal(r.json().status_code, 204);
  const got = s.receiver.received[0]!;
  t.equal(got.json.type, 'ping');
  t.ok(
    new Webhook(hook.secret).verify(got.body, {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    }),
  );
  s.receiver.answerWith(() => ({ status: 500 }));
  const bad = await s.app.inject({
    method: 'POST',
    url: `/v1/warehouses/${s.warehouse.code}/webhooks/${hook.id}/test`,
    headers: s.warehouse.auth,
  });
  t.equal(bad.json().delivered, false);
  t.equal(bad.json().status_code, 500);
});
