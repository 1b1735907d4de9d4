import t from 'tap';
import { isForbiddenAddress, urlProblem } from '../../src/webhooks/ssrf.js';
import { sendWebhook } from '../../src/webhooks/send.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { startReceiver } from './helpers.js';

t.test('addresses a webhook may not reach', async (t) => {
  for (const a of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
  ])
    t.ok(isForbiddenAddress(a), a);
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])
    t.notOk(isForbiddenAddress(a), a);
  t.equal(await urlProblem('http://example.com/x', false), 'must use https');
  t.match(await urlProblem('https://127.0.0.1/x', false), /loopback, link-local or private/);
  t.match(await urlProblem('https://[::1]/x', false), /loopback/);
  t.match(await urlProblem('https://localhost/x', false), /loopback/);
  t.equal(await urlProblem('http://127.0.0.1/x', true), null, 'allowed with WEBHOOK_ALLOW_PRIVATE');
});

t.test('the sender refuses private targets at connection time and follows no redirect', async (t) => {
  const receiver = await startReceiver(t);
  // A name that resolves to loopback is refused when connecting (as after a DNS rebinding).
  const viaName = await sendWebhook(
    receiver.url.replace('127.0.0.1', 'localhost').replace('http:', 'https:'),
    {},
    '{}',
    {
      allowPrivate: false,
      now: () => new Date(),
    },
  );
  t.equal(viaName.status, null);
  t.match(viaName.error, /private address/);
  const literal = await sendWebhook('https://127.0.0.1:9/x', {}, '{}', {
    allowPrivate: false,
    now: () => new Date(),
  });
  t.match(literal.error, /private address/);
  t.equal(receiver.received.length, 0, 'nothing reached the receiver');
  receiver.answerWith(() => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }));
  const r = await sendWebhook(receiver.url, {}, '{}', { allowPrivate: true, now: () => new Date() });
  t.equal(r.status, 302, 'a redirect is an answer, not followed');
  receiver.answerWith(() => ({ status: 200, hang: true }));
  const slow = await sendWebhook(receiver.url, {}, '{}', {
    allowPrivate: true,
    timeoutMs: 200,
    now: () => new Date(),
  });
  t.equal(slow.status, null);
  t.match(slow.error, /no answer within/);
});

t.test('webhook routes: create (secret once), read, list, change, delete; scopes; validation', async (t) => {
  const { app } = await buildTestApp(t);
  const acc = await seedAccounts(app, `wa${process.pid % 10000}`);
  const base = `/v1/merchants/${acc.merchant.code}/webhooks`;
  const bad = await app.inject({
    method: 'POST',
    url: base,
    headers: acc.merchant.auth,
    payload: { url: 'http://hooks.example.com/x', events: ['order.created', 'order.nope'] },
  });
  t.equal(bad.statusCode, 400);
  t.match(bad.json().error.details, [{ path: 'events[1]' }]);
  const priv = await app.inject({
    method: 'POST',
    url: base,
    headers: acc.merchant.auth,
    payload: { url: 'https://127.0.0.1/hook', events: ['order.created'] },
  });
  t.equal(priv.statusCode, 400);
  t.match(priv.json().error.details, [{ path: 'url', message: /private/ }]);
  const http = await app.inject({
    method: 'POST',
    url: base,
    headers: acc.merchant.auth,
    payload: { url: 'http://93.184.216.34/hook', events: ['order.created'] },
  });
  t.match(http.json().error.details, [{ path: 'url', message: 'must use https' }]);

  const c = await app.inject({
    method: 'POST',
    url: base,
    headers: acc.merchant.auth,
    payload: {
      url: 'https://93.184.216.34/hook',
      events: ['order.created', 'order.created'],
      description: 'erp',
    },
  });
  t.equal(c.statusCode, 201, c.body);
  const id = c.json().webhook.id;
  t.match(c.json().secret, /^whsec_/);
  t.same(c.json().webhook.events, ['order.created']);
  const g = await app.inject({ method: 'GET', url: `${base}/${id}`, headers: acc.merchant.auth });
  t.equal(g.statusCode, 200);
  t.notOk('secret' in g.json() || 'secret' in g.json().webhook, 'never shown again');
  // The warehouse acts on its merchant's webhooks; another merchant gets 404.
  t.equal(
    (await app.inject({ method: 'GET', url: base, headers: acc.warehouse.auth })).json().webhooks.length,
    1,
  );
  t.equal(
    (await app.inject({ method: 'GET', url: `${base}/${id}`, headers: acc.solo.auth })).statusCode,
    404,
  );
  t.equal(
    (
      await app.inject({
        method: 'GET',
        url: `/v1/warehouses/${acc.warehouse.code}/webhooks`,
        headers: acc.merchant.auth,
      })
    ).statusCode,
    404,
    "a merchant credential does not see its warehouse's webhooks",
  );
  const p = await app.inject({
    method: 'PATCH',
    url: `${base}/${id}`,
    headers: acc.merchant.auth,
    payload: { events: ['shipment.created'], enabled: false },
  });
  t.same(p.json().webhook.events, ['shipment.created']);
  t.equal(p.json().webhook.enabled, false);
  t.equal(
    (await app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: acc.merchant.auth })).statusCode,
    204,
  );
  t.equal(
    (await app.inject({ method: 'GET', url: `${base}/${id}`, headers: acc.merchant.auth })).statusCode,
    404,
  );
});

t.test(
  'the event types a webhook can subscribe to: the same for every caller, each one accepted',
  async (t) => {
    const { app } = await buildTestApp(t);
    const acc = await seedAccounts(app, `wt${process.pid % 10000}`);
    const url = '/v1/webhook-event-types';
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 401, 'a credential is needed');
    const r = await app.inject({ method: 'GET', url, headers: acc.warehouse.auth });
    t.equal(r.statusCode, 200, r.body);
    const { event_types } = r.json() as { event_types: { type: string; description: string }[] };
    t.same(
      r.json(),
      (await app.inject({ method: 'GET', url, headers: acc.merchant.auth })).json(),
      'the same for every caller',
    );
    t.ok(event_types.length > 0);
    t.notOk(
      event_types.some((e) => e.type === 'ping'),
      'ping is a test delivery, not something to subscribe to',
    );
    for (const e of event_types) t.ok(e.description.length > 0, `${e.type} says what it reports`);
    // Every type offered is accepted, all at once.
    const c = await app.inject({
      method: 'POST',
      url: `/v1/merchants/${acc.merchant.code}/webhooks`,
      headers: acc.merchant.auth,
      payload: { url: 'https://93.184.216.34/hook', events: event_types.map((e) => e.type) },
    });
    t.equal(c.statusCode, 201, c.body);
    t.same(c.json().webhook.events.toSorted(), event_types.map((e) => e.type).toSorted());
  },
);
