import t from 'tap';
import { pacific, startSim } from '../helpers/shipstation-api-sim.js';

const auth = (key: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`,
});

t.test('the ShipStation API simulator', async (t) => {
  const sim = await startSim(t, { limit: 1000 });
  const h = auth(sim.apiKey, sim.apiSecret);
  const get = async (path: string) => {
    const r = await fetch(sim.url + path, { headers: h });
    // biome-ignore lint/suspicious/noExplicitAny: the simulator's JSON answers, read field by field below
    const body: any = r.status === 200 ? await r.json() : await r.text();
    return { status: r.status, headers: r.headers, body };
  };

  t.test('Basic auth with the key pair', async (t) => {
    const r = await fetch(`${sim.url}/stores`, { headers: auth(sim.apiKey, 'wrong') });
    t.equal(r.status, 401);
    t.equal((await get('/stores')).status, 200);
  });

  t.test('dates are Pacific time without an offset, seven fractional digits', async (t) => {
    t.equal(pacific(new Date('2026-07-01T19:30:05.123Z')), '2026-07-01T12:30:05.1230000');
    t.equal(pacific(new Date('2026-12-01T20:00:00.000Z')), '2026-12-01T12:00:00.0000000');
  });

  t.test('GET /orders: filters, modifyDate window, sorting and paging', async (t) => {
    const a = sim.addOrder({ orderStatus: 'awaiting_shipment' });
    const b = sim.addOrder({ orderStatus: 'awaiting_payment', advancedOptions: { storeId: 102 } });
    const c = sim.addOrder({ orderStatus: 'awaiting_shipment' });
    const all = await get('/orders?sortBy=ModifyDate&sortDir=ASC&pageSize=500');
    t.same(
      all.body.orders.map((o: { orderId: number }) => o.orderId),
      [a.orderId, b.orderId, c.orderId],
    );
    t.match(all.body, { total: 3, page: 1, pages: 1 });
    const status = await get('/orders?orderStatus=awaiting_payment');
    t.same(
      status.body.orders.map((o: { orderId: number }) => o.orderId),
      [b.orderId],
    );
    const store = await get('/orders?storeId=102');
    t.same(
      store.body.orders.map((o: { orderId: number }) => o.orderId),
      [b.orderId],
    );
    const paged = await get('/orders?sortBy=ModifyDate&pageSize=2&page=2');
    t.match(paged.body, { total: 3, page: 2, pages: 2 });
    t.same(
      paged.body.orders.map((o: { orderId: number }) => o.orderId),
      [c.orderId],
    );
    // A change moves modifyDate: the order leaves a window that ended before it.
    const before = c.modifyDate.slice(0, 19).replace('T', ' ');
    await new Promise((r) => setTimeout(r, 1100));
    sim.updateOrder(a.orderId, { customerNotes: 'leave at the door' });
    const window = await get(`/orders?sortBy=ModifyDate&modifyDateEnd=${encodeURIComponent(before)}`);
    t.notOk(
      window.body.orders.some((o: { orderId: number }) => o.orderId === a.orderId),
      'modified after the window end',
    );
    const since = await get(
      `/orders?sortBy=ModifyDate&modifyDateStart=${encodeURIComponent(sim.orders.get(a.orderId)!.modifyDate.slice(0, 19))}`,
    );
    t.same(
      since.body.orders.map((o: { orderId: number }) => o.orderId),
      [a.orderId],
      'start is inclusive',
    );
    const desc = await get('/orders?sortBy=ModifyDate&sortDir=DESC');
    t.equal(desc.body.orders[0].orderId, a.orderId, 'the newest change first');
  });

  t.test('tags, listbytag, stores', async (t) => {
    const o = sim.addOrder({ tags: ['Warehouse'] });
    sim.addOrder({ tags: ['warehouse'] });
    const tags = await get('/accounts/listtags');
    t.same(tags.body.map((x: { name: string }) => x.name).sort(), ['Warehouse', 'warehouse']);
    const id = sim.tag('Warehouse');
    const byTag = await get(`/orders/listbytag?orderStatus=awaiting_shipment&tagId=${id}`);
    t.same(
      byTag.body.orders.map((x: { orderId: number }) => x.orderId),
      [o.orderId],
    );
    const before = sim.orders.get(o.orderId)!.modifyDate;
    sim.tagOrder(o.orderId, 'Later');
    t.equal(sim.orders.get(o.orderId)!.modifyDate, before, 'tagging does not move modifyDate unless asked');
    const stores = await get('/stores');
    t.same(
      stores.body.map((s: { storeId: number }) => s.storeId),
      [101, 102],
    );
  });

  t.test('markasshipped records the call and ships the order', async (t) => {
    const o = sim.addOrder();
    const r = await fetch(`${sim.url}/orders/markasshipped`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'application/json' },
      body: JSON.stringify({
        orderId: o.orderId,
        carrierCode: 'ups',
        shipDate: '2026-12-03',
        trackingNumber: '1Z999',
        notifyCustomer: true,
        notifySalesChannel: true,
      }),
    });
    t.equal(r.status, 200);
    t.same(await r.json(), { orderId: o.orderId, orderNumber: o.orderNumber });
    t.match(sim.markedShipped.at(-1), { orderId: o.orderId, trackingNumber: '1Z999', carrierCode: 'ups' });
    t.equal(sim.orders.get(o.orderId)!.orderStatus, 'shipped');
  });

  t.test('injected faults: 429, 500, 401, slow', async (t) => {
    sim.inject({ status: 429 }, { status: 500 }, { status: 401 }, { slowMs: 300 });
    t.equal((await get('/stores')).status, 429);
    t.equal((await get('/stores')).status, 500);
    t.equal((await get('/stores')).status, 401);
    const started = Date.now();
    t.equal((await get('/stores')).status, 200);
    t.ok(Date.now() - started >= 250, 'the slow answer came late');
    t.equal((await get('/stores')).status, 200, 'faults are used up');
  });
});

t.test('the simulator limits calls per window and says so in its headers', async (t) => {
  const sim = await startSim(t, { limit: 3, windowMs: 2000 });
  const h = auth(sim.apiKey, sim.apiSecret);
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await fetch(`${sim.url}/stores`, { headers: h }));
  t.same(
    answers.map((r) => r.status),
    [200, 200, 200, 429],
  );
  t.same(
    answers.map((r) => r.headers.get('x-rate-limit-remaining')),
    ['2', '1', '0', '0'],
  );
  t.equal(answers[0]!.headers.get('x-rate-limit-limit'), '3');
  t.ok(Number(answers[3]!.headers.get('x-rate-limit-reset')) >= 1);
  t.equal(sim.overLimit, 1);
  await new Promise((r) => setTimeout(r, 2100));
  t.equal((await fetch(`${sim.url}/stores`, { headers: h })).status, 200, 'a new window');
});
