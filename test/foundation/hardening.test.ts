import t from 'tap';
import { redactUrl } from '../../src/lib/logger.js';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import { merchantId, seedStore } from '../shipstation/seed.js';

t.test('redactUrl masks secret parameters by their decoded name', async (t) => {
  const cases: [string, string][] = [
    ['/s?a=1&SS-Password=pw1&b=2', '/s?a=1&SS-Password=[REDACTED]&b=2'],
    ['/s?SS%2DPassword=pw2', '/s?SS%2DPassword=[REDACTED]'],
    ['/s?%53S-Password=pw3', '/s?%53S-Password=[REDACTED]'],
    ['/s?%73%73%2d%70%61%73%73%77%6f%72%64=pw4#frag', '/s?%73%73%2d%70%61%73%73%77%6f%72%64=[REDACTED]#frag'],
    ['/s?sS-pAsSwOrD=pw5&SS-Password=pw6', '/s?sS-pAsSwOrD=[REDACTED]&SS-Password=[REDACTED]'],
    ['/s?x=1&api_key=k&token=t', '/s?x=1&api_key=[REDACTED]&token=[REDACTED]'],
    ['/s?SS-UserName=u&bad=%E0%A4%A', '/s?SS-UserName=u&bad=%E0%A4%A'],
    ['/plain', '/plain'],
  ];
  for (const [url, want] of cases) t.equal(redactUrl(url), want, url);
});

t.test('transport hardening', async (t) => {
  const { app, db, logs, rawLogs } = await buildTestApp(t);
  const s = await seedAccounts(app, 'hard');
  const m = await merchantId(db.db, s.merchant.code);
  const store = await seedStore(db.db, m);

  t.test('a percent-encoded password parameter name never brings the password to the log', async (t) => {
    const variants = ['SS%2DPassword', '%53S-Password', 'ss-%50ASSWORD'];
    for (const [i, name] of variants.entries()) {
      const id = `redact-${i}`;
      await app.inject({
        method: 'GET',
        url: `/shipstation?action=export&SS-UserName=${store.username}&${name}=${store.password}`,
        headers: { 'x-request-id': id },
      });
      const line = logs.find((l) => l.reqId === id && l.msg === 'request');
      t.ok(line, `request line for ${name}`);
      t.notMatch(String(line?.url), store.password, name);
    }
    t.notOk(rawLogs().includes(store.password), 'the password is nowhere in the log');
  });

  t.test('a URL logged in any field is redacted', async (t) => {
    app.log.info({
      url: `/x?SS%2dPassword=${store.password}`,
      req: { url: `/y?password=${store.password}` },
    });
    t.notOk(rawLogs().includes(store.password));
    t.match(rawLogs(), /"url":"\/y\?password=\[REDACTED\]"/);
  });

  t.test('x-request-id is echoed only when it is short and plain; otherwise a fresh id', async (t) => {
    const bad = ['<script>alert(1)</script>', 'x'.repeat(8000), 'a b', 'é', ''];
    for (const given of bad) {
      const r = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': given } });
      const id = String(r.headers['x-request-id']);
      t.match(id, /^[0-9a-f-]{36}$/, `fresh id instead of ${given.slice(0, 20)}`);
      const line = logs.find((l) => l.reqId === id && l.msg === 'request');
      t.ok(line, 'the log line carries the fresh id');
    }
    t.notOk(rawLogs().includes('<script>'), 'the refused id never reaches the log');
    t.notOk(rawLogs().includes('x'.repeat(200)));
    const ok = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-1.2:3_4' },
    });
    t.equal(ok.headers['x-request-id'], 'trace-1.2:3_4');
    const long = 'a'.repeat(128);
    const r128 = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': long } });
    t.equal(r128.headers['x-request-id'], long, '128 characters is the limit');
  });
});
