import { DateTime } from 'luxon';
import t from 'tap';
import { JobRunner } from '../../src/jobs/runner.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { sourceJobHandlers } from '../../src/sources/jobs.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createStore, noticeXml, notify } from '../shipments/helpers.js';
import { sourceTest } from './helpers.js';

const exportWindow = () => {
  const fmt = (d: DateTime) => d.toUTC().toFormat('MM/dd/yyyy HH:mm');
  const now = DateTime.utc();
  return { start_date: fmt(now.minus({ hours: 1 })), end_date: fmt(now.plus({ hours: 1 })) };
};

t.test('the full loop: tagged in ShipStation → pulled → exported → shipped → told back', async (t) => {
  const s = await sourceTest(t);
  const store = await createStore(s.app, s.acc.merchant);
  const tagged = s.sim.addOrder({
    orderNumber: 'LOOP-1',
    tags: ['Warehouse'],
    items: [
      s.sim.item({
        sku: 'MUG',
        name: 'Mug',
        weight: { value: 12, units: 'ounces' },
        unitPrice: 9.5,
        warehouseLocation: 'A-1',
        options: [{ name: 'Colour', value: 'Blue' }],
      }),
      s.sim.item({
        sku: 'DISCOUNT',
        name: 'Coupon',
        weight: null,
        quantity: 1,
        unitPrice: -2,
        adjustment: true,
      }),
    ],
    orderTotal: 22,
    advancedOptions: { warehouseId: 55, customField1: 'gift wrap' },
  });
  s.sim.addOrder({ orderNumber: 'LOOP-2' });
  const src = await s.createSource({ name: 'merchant-ss', tag: { mode: 'include', name: 'Warehouse' } });
  await s.pull(src.id);

  const orders = await s.db.db
    .selectFrom('orders')
    .select(['id', 'order_number', 'store_id', 'status', 'order_source', 'content'])
    .where('merchant_id', '=', s.merchantId)
    .execute();
  t.equal(orders.length, 1, 'only the tagged order');
  const order = orders[0]!;
  t.match(order, { order_number: 'LOOP-1', order_source: 'merchant-ss', store_id: store.id, status: 'new' });
  t.match(order.content, { requested_warehouse: '55', custom_fields: ['gift wrap'], tags: ['Warehouse'] });

  const exp = await s.app.inject({
    method: 'GET',
    url: `/shipstation?${new URLSearchParams({ action: 'export', ...exportWindow(), page: '1' })}`,
    headers: store.auth,
  });
  t.equal(exp.statusCode, 200, exp.body);
  t.match(exp.body, /<OrderNumber><!\[CDATA\[LOOP-1\]\]><\/OrderNumber>/);
  t.match(exp.body, /<Source><!\[CDATA\[merchant-ss\]\]><\/Source>/);
  t.match(exp.body, /<RequestedWarehouse><!\[CDATA\[55\]\]><\/RequestedWarehouse>/);

  // A first package with one of the two mugs: not shipped yet, nothing to tell.
  const first = await notify(s.app, store, {
    query: { order_number: 'LOOP-1', carrier: 'USPS', service: 'Priority Mail', tracking_number: '9400111' },
    body: noticeXml({
      orderId: order.id,
      orderNumber: 'LOOP-1',
      tracking: '9400111',
      carrier: 'USPS',
      shipDate: '12/02/2026',
      items: [{ sku: 'MUG', quantity: 1 }],
    }),
  });
  t.equal(first.statusCode, 200, first.body);
  await s.runner().runDue();
  t.same(s.sim.markedShipped, [], 'a partial shipment is not told');

  // The second package ships the order: ShipStation is told, with the first package's tracking.
  const second = await notify(s.app, store, {
    query: { order_number: 'LOOP-1', carrier: 'UPS', service: 'Ground', tracking_number: '1Z222' },
    body: noticeXml({
      orderNumber: 'LOOP-1',
      tracking: '1Z222',
      carrier: 'UPS',
      items: [{ sku: 'MUG', quantity: 1 }],
    }),
  });
  t.equal(second.statusCode, 200, second.body);
  const job = await s.db.db
    .selectFrom('jobs')
    .select(['kind', 'payload'])
    .where('kind', '=', 'source.mark_shipped')
    .execute();
  t.equal(job.length, 1, 'the shipped order queued one call back');
  await s.runner().runDue();
  t.same(s.sim.markedShipped, [
    {
      orderId: tagged.orderId,
      carrierCode: 'usps',
      shipDate: '2026-12-02',
      trackingNumber: '9400111',
      notifyCustomer: false,
      notifySalesChannel: true,
    },
  ]);
  const shipments = await s.db.db
    .selectFrom('shipments')
    .select(['id', 'tracking_number', 'source_notified_at'])
    .where('order_id', '=', order.id)
    .orderBy('id')
    .execute();
  t.ok(shipments[0]!.source_notified_at, 'recorded on the shipment whose tracking was told');
  t.equal(shipments[1]!.source_notified_at, null);
  const untold = await s.db.db
    .selectFrom('alerts')
    .select(['kind', 'data'])
    .where('merchant_id', '=', s.merchantId)
    .execute();
  t.match(
    untold,
    [{ kind: 'source_later_package', data: { shipment_id: shipments[1]!.id } }],
    'the second package, not told, raises an alert',
  );
  const listed = await s.app.inject({
    method: 'GET',
    url: `/v1/merchants/${s.acc.merchant.code}/shipments?status=all`,
    headers: s.acc.merchant.auth,
  });
  t.ok(
    listed.json().shipments.some((x: { source_notified_at: string | null }) => x.source_notified_at !== null),
    'and answered with it',
  );

  // A later package: ShipStation was told once; a person is told about this one.
  const third = await notify(s.app, store, {
    query: { order_number: 'LOOP-1', carrier: 'UPS', service: 'Ground', tracking_number: '1Z333' },
    body: noticeXml({ orderNumber: 'LOOP-1', tracking: '1Z333', carrier: 'UPS' }),
  });
  t.equal(third.statusCode, 200, third.body);
  await s.runner().runDue();
  t.equal(s.sim.markedShipped.length, 1, 'markasshipped once');
  const alerts = await s.db.db
    .selectFrom('alerts')
    .select(['kind', 'order_id'])
    .where('merchant_id', '=', s.merchantId)
    .where('kind', 'like', 'source%')
    .execute();
  t.same(
    alerts,
    [
      { kind: 'source_later_package', order_id: order.id },
      { kind: 'source_later_package', order_id: order.id },
    ],
    'one alert for each package ShipStation was not told about: the second (1Z222) and the third',
  );

  // The next pull sees the order shipped in ShipStation too: nothing to do.
  await s.pull(src.id);
  const after = await s.db.db
    .selectFrom('orders')
    .select('status')
    .where('id', '=', order.id)
    .executeTakeFirstOrThrow();
  t.equal(after.status, 'shipped');
  t.equal(
    (
      await s.db.db
        .selectFrom('alerts')
        .select('kind')
        .where('merchant_id', '=', s.merchantId)
        .where('kind', 'like', 'source%')
        .execute()
    ).length,
    2,
    'the shipped status coming back raises nothing',
  );
});

t.test('telling ShipStation is retried like a webhook; a final failure raises an alert', async (t) => {
  const s = await sourceTest(t);
  const store = await createStore(s.app, s.acc.merchant);
  s.sim.addOrder({ orderNumber: 'FAIL-1' });
  const src = await s.createSource({ name: 'down' });
  await s.pull(src.id);
  const order = await s.db.db
    .selectFrom('orders')
    .select('id')
    .where('order_number', '=', 'FAIL-1')
    .executeTakeFirstOrThrow();
  const r = await notify(s.app, store, {
    query: { order_number: 'FAIL-1', carrier: 'FedEx', service: 'Ground', tracking_number: 'FX1' },
    body: noticeXml({ orderNumber: 'FAIL-1', tracking: 'FX1', carrier: 'FedEx' }),
  });
  t.equal(r.statusCode, 200, r.body);
  // Retired: it pulls no more (so only the call back runs below), yet its orders' tracking still goes back.
  const del = await s.app.inject({
    method: 'DELETE',
    url: `/v1/merchants/${s.acc.merchant.code}/sources/${src.id}`,
    headers: s.acc.merchant.auth,
  });
  t.equal(del.statusCode, 204);
  // Its clock jumps past every retry delay.
  let now = Date.now();
  const runner = new JobRunner(s.db.db, { clock: () => new Date(now) });
  for (const h of sourceJobHandlers({
    db: s.db.db,
    box: new SecretHasher(TEST_SECRET_KEY).box,
    apiUrl: s.sim.url,
  }))
    runner.register(h);
  for (let i = 0; i < 8; i++) {
    s.sim.inject({ status: 500 });
    await runner.runDue();
    now += 11 * 3600_000;
  }
  await runner.runDue();
  t.equal(s.sim.markedShipped.length, 0);
  t.equal(s.sim.calls.filter((c) => c.path === '/orders/markasshipped').length, 8, 'eight attempts');
  const job = await s.db.db
    .selectFrom('jobs')
    .select(['status', 'attempts'])
    .where('kind', '=', 'source.mark_shipped')
    .executeTakeFirstOrThrow();
  t.match(job, { status: 'failed', attempts: 8 });
  const alerts = await s.db.db
    .selectFrom('alerts')
    .select(['kind', 'order_id'])
    .where('merchant_id', '=', s.merchantId)
    .execute();
  t.same(alerts, [{ kind: 'source_notify_failed', order_id: order.id }]);
});

t.test('a re-ship after a void, and a further package, raise alerts and are never told twice', async (t) => {
  const s = await sourceTest(t);
  const store = await createStore(s.app, s.acc.merchant);
  const told = s.sim.addOrder({ orderNumber: 'RE-1' });
  const early = s.sim.addOrder({ orderNumber: 'RE-2' });
  const src = await s.createSource({ name: 'reship' });
  await s.pull(src.id);
  const idOf = async (n: string) =>
    (
      await s.db.db
        .selectFrom('orders')
        .select('id')
        .where('merchant_id', '=', s.merchantId)
        .where('order_number', '=', n)
        .executeTakeFirstOrThrow()
    ).id;
  const ship = async (n: string, tracking: string) => {
    const r = await notify(s.app, store, {
      query: { order_number: n, carrier: 'UPS', service: 'Ground', tracking_number: tracking },
      body: noticeXml({ orderNumber: n, tracking, carrier: 'UPS' }),
    });
    t.equal(r.statusCode, 200, r.body);
    return (
      await s.db.db
        .selectFrom('shipments')
        .select('id')
        .where('tracking_number', '=', tracking)
        .executeTakeFirstOrThrow()
    ).id;
  };
  const voidIt = async (shipmentId: number) => {
    const r = await s.app.inject({
      method: 'POST',
      url: `/v1/merchants/${s.acc.merchant.code}/shipments/${shipmentId}/void`,
      headers: s.acc.merchant.auth,
    });
    t.equal(r.statusCode, 200, r.body);
  };
  const alerts = async (orderId: number) =>
    (
      await s.db.db
        .selectFrom('alerts')
        .select(['kind', 'data'])
        .where('merchant_id', '=', s.merchantId)
        .where('order_id', '=', orderId)
        .where('kind', 'like', 'source%')
        .orderBy('id')
        .execute()
    ).map((a) => `${a.kind}:${(a.data as { shipment_id?: number }).shipment_id}`);
  const run = () => s.runner().runDue();

  // Told with the first package; then voided and shipped again: the new label is not told, a person is.
  const reOne = await idOf('RE-1');
  await ship('RE-1', 'T-FIRST');
  await run();
  t.same(
    s.sim.markedShipped.map((m) => [m.orderId, m.trackingNumber]),
    [[told.orderId, 'T-FIRST']],
  );
  await voidIt(
    await s.db.db
      .selectFrom('shipments')
      .select('id')
      .where('tracking_number', '=', 'T-FIRST')
      .executeTakeFirstOrThrow()
      .then((x) => x.id),
  );
  const again = await ship('RE-1', 'T-AGAIN');
  await run();
  const more = await ship('RE-1', 'T-MORE');
  await run();
  t.equal(s.sim.markedShipped.length, 1, 'markasshipped once, whatever follows');
  t.equal(s.sim.calls.filter((c) => c.path === '/orders/markasshipped').length, 1);
  t.same(await alerts(reOne), [`source_later_package:${again}`, `source_later_package:${more}`]);

  // Voided before the call ran, then shipped again: ShipStation is told once, with the live label.
  const reTwo = await idOf('RE-2');
  const voided = await ship('RE-2', 'T-VOIDED');
  await voidIt(voided);
  await run();
  t.equal(s.sim.markedShipped.length, 1, 'nothing to tell while not shipped');
  await ship('RE-2', 'T-LIVE');
  await run();
  t.same(
    s.sim.markedShipped.map((m) => [m.orderId, m.trackingNumber]),
    [
      [told.orderId, 'T-FIRST'],
      [early.orderId, 'T-LIVE'],
    ],
  );
  t.same(await alerts(reTwo), [], 'the live label was told: nothing for a person');
});
