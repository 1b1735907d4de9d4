import { DateTime } from 'luxon';
import t from 'tap';
import { JobRunner } from '../../src/jobs/runner.js';
import { MERCHANT_PAUSED_RECHECK_MS } from '../../src/jobs/schedule.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { sourceJobHandlers } from '../../src/sources/jobs.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createStore, noticeXml, notify } from '../shipments/helpers.js';
import { requestPull, type SourceTest, sourceTest } from './helpers.js';

async function setDisabled(s: SourceTest, disabled: boolean) {
  const r = await s.app.inject({
    method: 'PATCH',
    url: `/v1/merchants/${s.acc.merchant.code}`,
    headers: s.acc.warehouse.auth,
    payload: { disabled },
  });
  if (r.statusCode !== 200) throw new Error(`${r.statusCode} ${r.body}`);
}

/** A runner of the source jobs whose clock is `aheadMs` in the future (what is due then runs now). */
function runnerAhead(s: SourceTest, aheadMs: number): JobRunner {
  const r = new JobRunner(s.db.db, {
    concurrency: 4,
    pollMs: 50,
    clock: () => new Date(Date.now() + aheadMs),
  });
  for (const h of sourceJobHandlers({
    db: s.db.db,
    box: new SecretHasher(TEST_SECRET_KEY).box,
    apiUrl: s.sim.url,
  }))
    r.register(h);
  return r;
}

const jobOf = (s: SourceTest, kind: string) =>
  s.db.db
    .selectFrom('jobs')
    .select(['status', 'run_at', 'attempts'])
    .where('kind', '=', kind)
    .executeTakeFirstOrThrow();

const ordersTaken = async (s: SourceTest) =>
  (
    await s.db.db
      .selectFrom('orders')
      .select('order_number')
      .where('merchant_id', '=', s.merchantId)
      .orderBy('order_number')
      .execute()
  ).map((o) => o.order_number);

t.test(
  "a disabled merchant's sources pull nothing, and resume by themselves once it is enabled",
  async (t) => {
    const s = await sourceTest(t);
    s.sim.addOrder({ orderNumber: 'P-1' });
    const src = await s.createSource({ name: 'paused' });
    await setDisabled(s, true);

    // Its warehouse may still ask for a pull (the merchant's own credentials answer 401).
    await requestPull(s.app, { code: s.acc.merchant.code, auth: s.acc.warehouse.auth }, src.id);
    const before = Date.now();
    await s.runner().runDue();
    t.same(s.sim.calls, [], 'ShipStation is not called while the merchant is disabled');
    t.same(await ordersTaken(s), []);
    const waiting = await jobOf(s, 'source.pull');
    t.equal(waiting.status, 'pending', 'the pull job waits, it does not end');
    t.ok(waiting.run_at.getTime() >= before + MERCHANT_PAUSED_RECHECK_MS - 1000, 'and looks again later');
    const health = await s.db.db
      .selectFrom('sources')
      .select(['enabled', 'failures', 'last_pull_error'])
      .where('id', '=', src.id)
      .executeTakeFirstOrThrow();
    t.same(health, { enabled: true, failures: 0, last_pull_error: null }, 'a pause is not a failure');

    // Still disabled when it looks again: still nothing.
    await runnerAhead(s, MERCHANT_PAUSED_RECHECK_MS + 1000).runDue();
    t.same(s.sim.calls, []);

    await setDisabled(s, false);
    // Nobody asks: the waiting job pulls at its next look.
    await runnerAhead(s, 2 * MERCHANT_PAUSED_RECHECK_MS + 1000).runDue();
    t.same(await ordersTaken(s), ['P-1'], 'pulled again once enabled');
    t.ok(s.sim.calls.length > 0);
  },
);

t.test('tracking back waits while the merchant is disabled, and is sent once it is enabled', async (t) => {
  const s = await sourceTest(t);
  const store = await createStore(s.app, s.acc.merchant);
  s.sim.addOrder({ orderNumber: 'TB-1' });
  const src = await s.createSource({ name: 'tracking' });
  await s.pull(src.id);
  const fmt = (d: DateTime) => d.toUTC().toFormat('MM/dd/yyyy HH:mm');
  const exp = await s.app.inject({
    method: 'GET',
    url: `/shipstation?${new URLSearchParams({
      action: 'export',
      start_date: fmt(DateTime.utc().minus({ hours: 1 })),
      end_date: fmt(DateTime.utc().plus({ hours: 1 })),
    })}`,
    headers: store.auth,
  });
  t.match(exp.body, /TB-1/);

  await setDisabled(s, true);
  // A notice is still applied while disabled (a refused one would be lost)…
  const n = await notify(s.app, store, {
    query: { order_number: 'TB-1', carrier: 'UPS', tracking_number: '1ZPAUSE' },
    body: noticeXml({ orderNumber: 'TB-1', tracking: '1ZPAUSE', carrier: 'UPS' }),
  });
  t.equal(n.statusCode, 200, n.body);
  // …but the merchant's ShipStation account is not told until it is enabled again.
  await s.runner().runDue();
  await runnerAhead(s, MERCHANT_PAUSED_RECHECK_MS + 1000).runDue();
  t.same(s.sim.markedShipped, [], 'nothing told while disabled');
  const waiting = await jobOf(s, 'source.mark_shipped');
  t.same([waiting.status, waiting.attempts], ['pending', 0], 'waiting spends no attempt');

  await setDisabled(s, false);
  await runnerAhead(s, 3 * MERCHANT_PAUSED_RECHECK_MS).runDue();
  t.equal(s.sim.markedShipped.length, 1, 'told once enabled');
  t.equal(s.sim.markedShipped[0]?.trackingNumber, '1ZPAUSE');
  t.equal((await jobOf(s, 'source.mark_shipped')).status, 'succeeded');
});
