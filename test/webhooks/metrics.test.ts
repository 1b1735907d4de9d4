import t from 'tap';
import { createJobRunner } from '../../src/background.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createOrder } from '../shipments/helpers.js';
import { createWebhook, pump, setupWebhooks } from './helpers.js';

/** The value of `shipbridge_webhook_deliveries_total{outcome="…"}` in a scrape of the registry. */
async function deliveriesTotal(metrics: Metrics, outcome: string): Promise<number | undefined> {
  const series = `shipbridge_webhook_deliveries_total{outcome="${outcome}"} `;
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(series.length));
}

t.test('every recorded delivery attempt is counted by outcome', async (t) => {
  const base = await setupWebhooks(t);
  const metrics = new Metrics(undefined);
  const runner = createJobRunner(
    base.db.db,
    { webhookAllowPrivate: true },
    new SecretHasher(TEST_SECRET_KEY).box,
    undefined,
    { clock: base.clock.now },
    metrics,
  );
  const s = { ...base, runner };
  await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  const answers = [500, 204, 410];
  s.receiver.answerWith(() => ({ status: answers.shift() ?? 204 }));

  await createOrder(s.app, s.merchant);
  await pump(s); // 500: retried later
  t.equal(await deliveriesTotal(metrics, 'failed'), 1);
  t.equal(await deliveriesTotal(metrics, 'delivered'), 0);
  s.clock.advance(10_000);
  await pump(s); // 204
  t.equal(await deliveriesTotal(metrics, 'delivered'), 1);

  await createOrder(s.app, s.merchant);
  await pump(s); // 410: the webhook is disabled, the delivery given up
  t.equal(await deliveriesTotal(metrics, 'gave_up'), 1);
  t.equal(await deliveriesTotal(metrics, 'failed'), 1, 'a given-up attempt is not also a failed one');
  t.equal(s.receiver.received.length, 3);
});
