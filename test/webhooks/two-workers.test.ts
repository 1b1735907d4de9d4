import t from 'tap';
import { dispatchEvents } from '../../src/webhooks/delivery.js';
import { createOrder } from '../shipments/helpers.js';
import { createWebhook, makeRunner, setupWebhooks } from './helpers.js';

const S = 1000;
const _H = 3600 * S;

t.test('two workers never deliver one event at the same time, and deliver each once', async (t) => {
  const s = await setupWebhooks(t);
  await createWebhook(s.app, s.merchant, s.receiver.url, ['order.created']);
  const inFlight = new Set<string>();
  let overlaps = 0;
  s.receiver.answerWith((r) => {
    const id = String(r.headers['webhook-id']);
    if (inFlight.has(id)) overlaps++;
    inFlight.add(id);
    return { status: 200, delayMs: 15, onSent: () => inFlight.delete(id) };
  });
  for (let i = 0; i < 10; i++) await createOrder(s.app, s.merchant);
  await dispatchEvents(s.db.db, s.clock.now());
  const a = makeRunner(s.db.db, s.clock.now, { owner: 'A', concurrency: 4 });
  const b = makeRunner(s.db.db, s.clock.now, { owner: 'B', concurrency: 4 });
  await Promise.all([a.runDue(), b.runDue()]);
  t.equal(overlaps, 0);
  const ids = s.receiver.received.map((r) => String(r.headers['webhook-id']));
  t.equal(ids.length, 10, 'each event delivered once');
  t.equal(new Set(ids).size, 10);
});
