import { createHmac } from 'node:crypto';
import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_RETRY_DELAYS_MS } from '../../src/jobs/schedule.js';
import { createOrder } from '../shipments/helpers.js';
import { createWebhook, deliveries, pump, setupWebhooks } from './helpers.js';

const S = 1000;
const H = 3600 * S;

t.test('a delivery is signed as Standard Webhooks says; the official library verifies it', async (t) => {
  const s = await setupWebhooks(t);
  const hook = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  t.match(hook.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const order = await createOrder(s.app, s.merchant);
  t.equal(await pump(s), 1);
  t.equal(s.receiver.received.length, 1);
  const got = s.receiver.received[0]!;
  const payload = new Webhook(hook.secret).verify(got.body, {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  }) as { type: string; merchant: string; id: string; sequence: number; data: Record<string, unknown> };
  t.equal(payload.type, 'order.created');
  t.equal(payload.merchant, s.merchant.code);
  t.equal(payload.id, got.headers['webhook-id']);
  t.equal(payload.data.id, order.id, 'data is the order as the API answers it');
  t.equal(payload.data.order_number, order.order_number);
  t.type(payload.sequence, 'number');
  t.equal(got.headers['webhook-timestamp'], String(Math.floor(s.clock.now().getTime() / 1000)));
  // And by our own reading of the specification.
  const key = Buffer.from(hook.secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${got.headers['webhook-id']}.${got.headers['webhook-timestamp']}.${got.body}`)
    .digest('base64');
  t.equal(got.headers['webhook-signature'], `v1,${expected}`);
  t.throws(() =>
    new Webhook(hook.secret).verify(got.body.replace('order.created', 'order.updated'), {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    }),
  );
  const [d] = await deliveries(s, s.merchant, hook.id);
  t.equal(d?.status, 'succeeded');
  t.equal(d?.attempts, 1);
  t.equal(d?.last_status_code, 204);
});

t.test(
  'retries follow the schedule (Retry-After honoured), then the event fails with an alert',
  async (t) => {
    const s = await setupWebhooks(t);
    const hook = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
    s.receiver.answerWith(() => ({ status: 503, body: 'x'.repeat(5000) }));
    await createOrder(s.app, s.merchant);
    const start = s.clock.now().getTime();
    t.equal(await pump(s), 1);
    const attemptTimes = [0];
    let elapsed = 0;
    for (const [i, delay] of WEBHOOK_RETRY_DELAYS_MS.entries()) {
      const [d] = await deliveries(s, s.merchant, hook.id);
      t.equal(d?.status, 'pending');
      t.equal(
        new Date(d!.next_attempt_at!).getTime(),
        start + elapsed + delay,
        `retry ${i + 1} after ${delay / S} s`,
      );
      s.clock.advance(delay - S);
      t.equal(await pump(s), 0, 'not before its time');
      s.clock.advance(S);
      t.equal(await pump(s), 1);
      elapsed += delay;
      attemptTimes.push(elapsed);
    }
    t.equal(s.receiver.received.length, 8, '1 attempt and 7 retries');
    const ids = new Set(s.receiver.received.map((r) => r.headers['webhook-id']));
    t.equal(ids.size, 1, 'the same webhook-id on every attempt');
    const stamps = s.receiver.received.map((r) => Number(r.headers['webhook-timestamp']));
    t.same(
      stamps.map((x) => x - stamps[0]!),
      attemptTimes.map((x) => x / S),
      'each attempt signed with its own time',
    );
    const [d] = await deliveries(s, s.merchant, hook.id);
    t.equal(d?.status, 'failed');
    t.equal(d?.next_attempt_at, null);
    t.equal(d?.attempt_log.length, 8);
    t.equal(d?.attempt_log[0]?.response_body?.length, 2048, 'the answer body is kept truncated');
    const alerts = await s.db.db
      .selectFrom('alerts')
      .selectAll()
      .where('kind', '=', 'webhook_delivery_failed')
      .execute();
    t.equal(alerts.length, 1);
    t.equal((await s.db.db.selectFrom('webhooks').select('enabled').executeTakeFirstOrThrow()).enabled, true);

    // Retry-After: later than the schedule's 5 s → honoured.
    s.receiver.answerWith(() => ({ status: 429, headers: { 'retry-after': '120' } }));
    await createOrder(s.app, s.merchant);
    t.equal(await pump(s), 1);
    const [d2] = await deliveries(s, s.merchant, hook.id);
    t.equal(new Date(d2!.next_attempt_at!).getTime(), s.clock.now().getTime() + 120 * S);
  },
);

t.test('410 disables the webhook at once, with an alert; later events are not delivered', async (t) => {
  const s = await setupWebhooks(t);
  const hook = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  s.receiver.answerWith(() => ({ status: 410 }));
  await createOrder(s.app, s.merchant);
  await pump(s);
  const w = await s.app.inject({
    method: 'GET',
    url: `/v1/merchants/${s.merchant.code}/webhooks/${hook.id}`,
    headers: s.merchant.auth,
  });
  t.equal(w.json().webhook.enabled, false);
  t.match(w.json().webhook.disabled_reason, /410/);
  const [d] = await deliveries(s, s.merchant, hook.id);
  t.equal(d?.status, 'failed');
  const alerts = await s.db.db
    .selectFrom('alerts')
    .selectAll()
    .where('kind', '=', 'webhook_disabled')
    .execute();
  t.equal(alerts.length, 1);
  await createOrder(s.app, s.merchant);
  s.clock.advance(H);
  await pump(s);
  t.equal(s.receiver.received.length, 1, 'nothing more is sent');
  const rows = await s.db.db
    .selectFrom('webhook_events')
    .selectAll()
    .where('type', '=', 'order.created')
    .execute();
  t.equal(rows.length, 1, 'and no event is written for a disabled webhook');

  // Re-enabled: deliveries resume.
  s.receiver.answerWith(() => ({ status: 200 }));
  const p = await s.app.inject({
    method: 'PATCH',
    url: `/v1/merchants/${s.merchant.code}/webhooks/${hook.id}`,
    headers: s.merchant.auth,
    payload: { enabled: true },
  });
  t.equal(p.json().webhook.enabled, true);
  await createOrder(s.app, s.merchant);
  await pump(s);
  t.equal(s.receiver.received.length, 2);
});

t.test('a webhook with no 2xx for 3 days is disabled with an alert', async (t) => {
  const s = await setupWebhooks(t);
  const hook = await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  s.receiver.answerWith(() => ({ status: 500 }));
  await createOrder(s.app, s.merchant);
  await pump(s);
  s.clock.advance(3 * 24 * H - S);
  await createOrder(s.app, s.merchant);
  await pump(s);
  let w = await s.db.db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', hook.id)
    .executeTakeFirstOrThrow();
  t.equal(w.enabled, true, 'not yet: 3 days minus a second');
  s.clock.advance(S);
  await createOrder(s.app, s.merchant);
  await pump(s);
  w = await s.db.db.selectFrom('webhooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
  t.equal(w.enabled, false);
  t.equal(w.disabled_reason, 'no 2xx answer for 3 days');
  t.equal(
    (await s.db.db.selectFrom('alerts').selectAll().where('kind', '=', 'webhook_disabled').execute()).length,
    1,
  );
});
