import t from 'tap';
import { sampleOrder } from '../orders/fixtures.js';
import { sourceTest } from './helpers.js';

const sourceRow = (s: Awaited<ReturnType<typeof sourceTest>>, id: number) =>
  s.db.db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

t.test("pulls stay within ShipStation's rate limit, across pages of a busy second", async (t) => {
  // Two calls per window of 1.5 s; 1001 orders are 3 pages (+ the tag list): the pull must wait.
  const s = await sourceTest(t, { limit: 2, windowMs: 1500 });
  for (let i = 0; i < 1001; i++) s.sim.addOrder({ orderNumber: `P-${String(i).padStart(4, '0')}` });
  await s.sim.caughtUp();
  const src = await s.createSource({ name: 'paced' });
  await s.pull(src.id);
  t.equal(s.sim.overLimit, 0, 'never over the limit');
  t.equal(s.sim.calls.filter((c) => c.status === 429).length, 0);
  const n = await s.db.db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('order_source', '=', 'paced')
    .executeTakeFirstOrThrow();
  t.equal(Number(n.n), 1001, 'every page pulled');
  const pages = s.sim.answered('/orders');
  t.ok(pages.length >= 3, `${pages.length} pages read`);
  const budget = await s.db.db.selectFrom('source_rate_limits').selectAll().execute();
  t.equal(budget.length, 1, 'one budget for the key pair');
});

t.test('a 429 is waited out; a 500 is retried later with backoff', async (t) => {
  const s = await sourceTest(t);
  s.sim.addOrder({ orderNumber: 'X-1' });
  const src = await s.createSource({ name: 'flaky' });
  s.sim.inject({ status: 429, resetSeconds: 1 });
  await s.pull(src.id);
  let row = await sourceRow(s, src.id);
  t.equal(row.last_pull_error, null, 'the 429 was waited out within the pull');
  t.equal(row.last_pull_orders, 1);

  s.sim.inject({ status: 500 });
  const before = Date.now();
  await s.pull(src.id);
  row = await sourceRow(s, src.id);
  t.match(row.last_pull_error, /500/);
  t.equal(row.failures, 1);
  const job = await s.db.db
    .selectFrom('jobs')
    .select(['run_at', 'status'])
    .where('singleton', '=', `source.pull:${src.id}`)
    .executeTakeFirstOrThrow();
  t.equal(job.status, 'pending');
  t.ok(job.run_at.getTime() >= before + 25_000, 'tried again after a delay');
  await s.pull(src.id);
  row = await sourceRow(s, src.id);
  t.equal(row.failures, 0, 'a good pull clears the failures');
});

t.test('a 401 disables the source with an alert; new keys enable it again', async (t) => {
  const s = await sourceTest(t);
  s.sim.addOrder({ orderNumber: 'U-1' });
  const src = await s.createSource({ name: 'keys' });
  s.sim.inject({ status: 401 });
  await s.pull(src.id);
  const row = await sourceRow(s, src.id);
  t.equal(row.enabled, false);
  t.match(row.disabled_reason, /401/);
  const alerts = await s.db.db
    .selectFrom('alerts')
    .selectAll()
    .where('merchant_id', '=', s.merchantId)
    .execute();
  t.same(
    alerts.map((a) => a.kind),
    ['source_disabled'],
  );
  t.match(alerts[0]!.data, { source_id: src.id });
  const base = `/v1/merchants/${s.acc.merchant.code}/sources/${src.id}`;
  const pull = await s.app.inject({ method: 'POST', url: `${base}/pull`, headers: s.acc.merchant.auth });
  t.equal(pull.statusCode, 409, 'a disabled source is not pulled');
  const callsBefore = s.sim.calls.length;
  await s.runner().runDue();
  t.equal(s.sim.calls.length, callsBefore, 'and its job calls nobody');
  const p = await s.app.inject({
    method: 'PATCH',
    url: base,
    headers: s.acc.merchant.auth,
    payload: { api_key: s.sim.apiKey, api_secret: s.sim.apiSecret },
  });
  t.equal(p.json().source.enabled, true, 'new keys re-enable it');
  await s.pull(src.id);
  t.equal((await sourceRow(s, src.id)).last_pull_orders, 1);
});

t.test('a slow source never stalls the others', async (t) => {
  const s = await sourceTest(t);
  s.sim.addOrder({ orderNumber: 'S-1' });
  const slow = await s.createSource({ name: 'slow' });
  const fast = await s.createSource({ name: 'fast' });
  const runner = s.runner({ timeoutMs: 400 });
  // The first call (whichever source makes it) hangs for 5 s; calls are made in parallel.
  s.sim.inject({ slowMs: 5_000 });
  await runner.runDue();
  const rows = [await sourceRow(s, slow.id), await sourceRow(s, fast.id)];
  const failed = rows.filter((r) => r.last_pull_error !== null);
  const pulled = rows.filter((r) => r.last_pull_orders === 1);
  t.equal(failed.length, 1, 'one pull timed out');
  t.match(failed[0]!.last_pull_error, /no answer within/);
  t.equal(pulled.length, 1, 'the other pulled meanwhile');
});

t.test('sources on one key pair share one budget, across instances', async (t) => {
  // Two calls per window of 1 s, for two sources on the same keys pulled by two runners at once
  // (as two instances would): the budget kept in the database paces them together.
  const s = await sourceTest(t, { limit: 2, windowMs: 1000 });
  for (let i = 0; i < 3; i++) s.sim.addOrder({ orderNumber: `K-${i}` });
  const a = await s.createSource({ name: 'pair-a' });
  const b = await s.createSource({ name: 'pair-b', tag: { mode: 'exclude', name: 'Nope' } });
  const one = s.runner();
  const two = s.runner();
  await Promise.all([one.runDue(), two.runDue()]);
  // Each pull makes at least two calls (tags, orders): four or more calls in all, two a window.
  t.ok(s.sim.calls.length >= 4, `${s.sim.calls.length} calls`);
  t.equal(s.sim.overLimit, 0, 'never over the limit of the key pair');
  t.equal((await s.db.db.selectFrom('source_rate_limits').selectAll().execute()).length, 1, 'one budget');
  for (const id of [a.id, b.id])
    t.equal((await sourceRow(s, id)).last_pull_orders, 3, 'both pulled everything');
});

t.test('no transaction is open while ShipStation is called', async (t) => {
  const s = await sourceTest(t);
  s.sim.addOrder({ orderNumber: 'N-1' });
  const src = await s.createSource({ name: 'hanging' });
  // The pull's first call hangs for 3 s. Meanwhile the same database (on PGlite: its one connection)
  // serves writes at once, the source's own row included.
  s.sim.inject({ slowMs: 3_000 });
  let done = false;
  const pulling = s
    .runner()
    .runDue()
    .then(() => {
      done = true;
    });
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const patched = await s.app.inject({
    method: 'PATCH',
    url: `/v1/merchants/${s.acc.merchant.code}/sources/${src.id}`,
    headers: s.acc.merchant.auth,
    payload: { poll_minutes: 30 },
  });
  t.equal(patched.statusCode, 200, patched.body);
  const created = await s.app.inject({
    method: 'POST',
    url: `/v1/merchants/${s.acc.merchant.code}/orders`,
    headers: s.acc.merchant.auth,
    payload: sampleOrder('WHILE-1'),
  });
  t.equal(created.statusCode, 201, created.body);
  t.ok(Date.now() - started < 1_500, `answered in ${Date.now() - started} ms`);
  t.equal(done, false, 'while the pull was still waiting for ShipStation');
  await pulling;
  t.equal((await sourceRow(s, src.id)).last_pull_orders, 1, 'and the pull then finished');
});
