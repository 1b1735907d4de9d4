import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';

t.test('HTTP plumbing', async (t) => {
  const { app, logs, rawLogs } = await buildTestApp(t);
  const s = await seedAccounts(app, 'http');

  t.test('health', async (t) => {
    const h = await app.inject({ method: 'GET', url: '/healthz' });
    t.equal(h.statusCode, 200);
    t.same(h.json(), { status: 'ok' });
    const r = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(r.statusCode, 200);
    t.equal(r.json().status, 'ready');
  });

  t.test('x-request-id on every response, echoed when given', async (t) => {
    const a = await app.inject({ method: 'GET', url: '/healthz' });
    t.match(a.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    const b = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'abc-123' } });
    t.equal(b.headers['x-request-id'], 'abc-123');
    const c = await app.inject({ method: 'GET', url: '/v1/merchants' });
    t.ok(c.headers['x-request-id'], 'on 401 too');
  });

  t.test('unknown route is 404 in the error shape', async (t) => {
    const r = await app.inject({ method: 'GET', url: '/v1/nothing-here?SS-Password=hush' });
    t.equal(r.statusCode, 404);
    t.equal(r.json().error.code, 'not_found');
    t.notMatch(r.body, /hush/);
  });

  t.test('malformed JSON is 400', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: { ...s.warehouse.auth, 'content-type': 'application/json' },
      payload: '{"code": "x", ',
    });
    t.equal(r.statusCode, 400);
    t.equal(r.json().error.code, 'invalid_request');
  });

  t.test('unsupported content type is 415 in the error shape', async (t) => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: { ...s.warehouse.auth, 'content-type': 'application/xml' },
      payload: '<x/>',
    });
    t.equal(r.statusCode, 415);
    t.equal(r.json().error.code, 'unsupported_media_type');
  });

  t.test('bodies over 10 MB are 413, up to 10 MB are read', async (t) => {
    const big = JSON.stringify({ code: 'big', name: 'x'.repeat(10 * 1024 * 1024) });
    const r = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: { ...s.warehouse.auth, 'content-type': 'application/json' },
      payload: big,
    });
    t.equal(r.statusCode, 413);
    t.equal(r.json().error.code, 'payload_too_large');
    const nine = JSON.stringify({ code: 'nine', name: 'x'.repeat(9 * 1024 * 1024) });
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: { ...s.warehouse.auth, 'content-type': 'application/json' },
      payload: nine,
    });
    t.equal(ok.statusCode, 400, 'read and validated (name too long), not refused for size');
    t.equal(ok.json().error.details[0].path, 'name');
  });

  t.test('validation errors name the field', async (t) => {
    const r = await app.inject({ method: 'GET', url: '/v1/merchants?limit=9999', headers: s.merchant.auth });
    t.equal(r.statusCode, 400);
    t.equal(r.json().error.details[0].path, 'query.limit');
  });

  t.test('one log line per request, with id, caller, status and timing; secrets redacted', async (t) => {
    await app.inject({
      method: 'GET',
      url: '/v1/merchants?SS-UserName=someone&SS-Password=very-secret-value',
      headers: { ...s.merchant.auth, 'x-request-id': 'log-check-1' },
    });
    const line = logs.find((l) => l.reqId === 'log-check-1' && l.msg === 'request');
    t.ok(line, 'request line written');
    t.equal(line?.status, 200);
    t.equal(line?.caller, s.merchant.credential.api_user);
    t.type(line?.ms, 'number');
    t.match(String(line?.url), /SS-Password=\[REDACTED\]/);
    t.notOk(rawLogs().includes('very-secret-value'));
    t.notOk(rawLogs().includes(s.merchant.credential.api_key));
    t.notOk(rawLogs().includes(String(s.merchant.auth.authorization)));
  });

  t.test('OpenAPI document and docs are served', async (t) => {
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
    t.equal(doc.statusCode, 200);
    t.equal(doc.json().openapi, '3.0.3');
    t.ok(doc.json().paths['/v1/merchants']);
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    t.equal(ui.statusCode, 200);
    t.match(ui.headers['content-type'], /html/);
  });
});
