import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { createJobRunner } from '../../src/background.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { basic, buildTestApp, seedAccounts, TEST_SECRET_KEY } from '../helpers/app.js';
import { validateOrdersXml } from '../helpers/xsd.js';
import { fmtUtc } from '../shipstation/seed.js';

/**
 * Rules wired into the order pipeline, end to end through the REST API and the ShipStation export:
 * what is stored (sent and effective), answered, routed, exported, held with alerts, and
 * re-evaluated when rules change.
 */

const shipTo = {
  name: 'Ann Buyer',
  street1: 'ATTN: Receiving Dock',
  street2: '1 Main St',
  city: 'Springfield',
  state: 'IL',
  postal_code: '62701',
  country: 'US',
};

const order = (n: string, over: Record<string, unknown> = {}) => ({
  order_source: 'shopify-us',
  order_number: n,
  order_date: '2026-11-20T10:15:00+01:00',
  shipping_method: 'Standard',
  ship_to: shipTo,
  items: [
    { line_id: 'L1', sku: 'BK-1', name: 'Bike', quantity: 1, unit_price: '499.00' },
    { line_id: 'L2', sku: 'SAMPLE', name: 'Free sample', quantity: 1, unit_price: '0.00' },
  ],
  ...over,
});

async function setup(t: Test, prefix: string) {
  const ctx = await buildTestApp(t, { WEBHOOK_ALLOW_PRIVATE: 'true' });
  const acc = await seedAccounts(ctx.app, prefix);
  const M = `/v1/merchants/${acc.merchant.code}`;
  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    ctx.app.inject({
      method,
      url,
      headers: acc.merchant.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const runner = createJobRunner(
    ctx.db.db,
    { webhookAllowPrivate: true },
    new SecretHasher(TEST_SECRET_KEY).box,
    undefined,
  );
  const alertsOf = async (orderId: number) =>
    (await call('GET', `${M}/alerts`))
      .json()
      .alerts.filter((a: { order_id: number }) => a.order_id === orderId);
  return { ...ctx, acc, M, call, runner, alertsOf };
}

/** Exports the orders of the last hour through GET /shipstation, as ShipStation would. */
async function exportXml(app: FastifyInstance, store: { username: string; password: string }) {
  const now = Date.now();
  const start = encodeURIComponent(fmtUtc(new Date(now - 3600_000)));
  const end = encodeURIComponent(fmtUtc(new Date(now + 3600_000)));
  const r = await app.inject({
    method: 'GET',
    url: `/shipstation?action=export&start_date=${start}&end_date=${end}`,
    headers: basic(store.username, store.password),
  });
  return r.body;
}

/** The text of every `<name>` element of an export document. */
const values = (xml: string, name: string) =>
  [...xml.matchAll(new RegExp(`<${name}>(?:<!\\[CDATA\\[)?([^<\\]]*)`, 'g'))].map((m) => m[1]);

const names = (applied: { name: string }[]) => applied.map((a) => a.name);

t.test('orders go through the rules: sent kept, effective answered, routed, held, exported', async (t) => {
  const { app, call, M, runner, alertsOf } = await setup(t, 'rp1');
  const main = (await call('POST', `${M}/stores`, { name: 'Main', exclude_tags: ['b2b'] })).json();
  const b2b = (await call('POST', `${M}/stores`, { name: 'B2B', priority: 200 })).json();
  const rules = [
    {
      name: 'Default carrier',
      then: [{ type: 'default', field: 'shipping_method', value: 'USPS Priority' }],
    },
    {
      name: 'Map methods',
      then: [
        {
          type: 'map_shipping_method',
          unmapped: 'hold',
          map: { Standard: 'UPS Ground', 'USPS Priority': 'USPS Priority' },
        },
      ],
    },
    { name: 'No samples', then: [{ type: 'exclude_items', skus: ['SAMPLE'] }] },
    {
      name: 'Target is B2B',
      when: [{ field: 'ship_to.company', op: 'equals', value: 'Target' }],
      then: [
        { type: 'add_tags', tags: ['b2b'] },
        { type: 'route_to_store', store_id: b2b.store.id },
      ],
    },
  ];
  for (const r of rules) {
    const res = await call('POST', `${M}/rules`, r);
    t.equal(res.statusCode, 201, res.body);
    t.match(res.json().reevaluation, { id: Number, state: 'pending' });
  }
  // Their re-evaluations (of no order yet) run now, so that later jobs are followed one at a time.
  await runner.runDue();

  const created = await call('POST', `${M}/orders`, order('P-1'));
  t.equal(created.statusCode, 201, created.body);
  const o = created.json();
  t.equal(o.shipping_method, 'Standard', 'the sent order stays at the top level');
  t.equal(o.ship_to.street1, 'ATTN: Receiving Dock');
  t.equal(o.effective.shipping_method, 'UPS Ground');
  t.match(o.effective.ship_to, {
    name: 'Ann Buyer',
    company: 'Receiving Dock',
    street1: '1 Main St',
    street2: null,
  });
  t.same(o.effective.excluded_line_ids, [o.items[1].line_item_id]);
  t.same(names(o.effective.rules.applied), ['Default carrier', 'Map methods', 'No samples']);
  t.equal(o.routing.store_id, main.store.id);

  const events = (await call('GET', `${M}/orders/${o.id}/events`)).json().events;
  const applied = events.find((e: { type: string }) => e.type === 'rules_applied');
  t.ok(applied, 'a run that changed the order is an order event');
  t.same(applied?.data.changes, o.effective.rules.changes);

  t.test('idempotency compares what was sent', async (t) => {
    const again = await call('POST', `${M}/orders`, order('P-1'));
    t.equal(again.statusCode, 200);
    t.equal(again.json().id, o.id);
  });

  t.test('a GET answer PUT back is the sent order: nothing changes', async (t) => {
    const got = (await call('GET', `${M}/orders/${o.id}`)).json();
    const put = await call('PUT', `${M}/orders/${o.id}`, got);
    t.equal(put.statusCode, 200, put.body);
    t.equal(put.json().shipping_method, 'Standard');
    t.equal(put.json().updated_at, got.updated_at, 'the same content: nothing written');
  });

  t.test('a PUT runs the rules again', async (t) => {
    const put = await call('PUT', `${M}/orders/${o.id}`, {
      ...order('P-1'),
      shipping_method: 'USPS Priority',
    });
    t.equal(put.statusCode, 200, put.body);
    t.equal(put.json().shipping_method, 'USPS Priority');
    t.equal(put.json().effective.shipping_method, 'USPS Priority');
    const back = await call('PUT', `${M}/orders/${o.id}`, order('P-1'));
    t.equal(back.json().effective.shipping_method, 'UPS Ground');
  });

  t.test('a rule route and the effective tags decide the store', async (t) => {
    const r = await call(
      'POST',
      `${M}/orders`,
      order('P-2', { ship_to: { ...shipTo, street1: '1 Main St', street2: null, company: 'Target' } }),
    );
    const tgt = r.json();
    t.same(tgt.tags, [], 'sent tags');
    t.same(tgt.effective.tags, ['b2b']);
    t.equal(tgt.routing.store_id, b2b.store.id);
  });

  t.test('an unmapped method is held with an alert; the map change that maps it releases it', async (t) => {
    const held = (await call('POST', `${M}/orders`, order('P-3', { shipping_method: 'Pigeon' }))).json();
    t.equal(held.routing.store_id, null);
    t.match(
      held.routing.reason,
      /held by merchant rule \d+ 'Map methods': shipping method 'Pigeon' is not mapped/,
    );
    t.equal(held.status, 'new', 'a rule hold does not change the status');
    const alerts = await alertsOf(held.id);
    t.equal(alerts.length, 1);
    t.equal(alerts[0].kind, 'unmapped_shipping_method');

    const list = (await call('GET', `${M}/rules`)).json().rules;
    const mapRule = list.find((r: { name: string }) => r.name === 'Map methods');
    const patched = await call('PATCH', `${M}/rules/${mapRule.id}`, {
      then: [
        {
          type: 'map_shipping_method',
          unmapped: 'hold',
          map: { Standard: 'UPS Ground', 'USPS Priority': 'USPS Priority', Pigeon: 'Carrier Pigeon' },
        },
      ],
    });
    t.equal(patched.statusCode, 200, patched.body);
    const job = patched.json().reevaluation;
    t.match(job, { id: Number, state: 'pending' });
    await runner.runDue();
    const status = (await call('GET', `${M}/rules/jobs/${job.id}`)).json().reevaluation;
    t.match(status, { id: job.id, state: 'succeeded', merchants: 1 });
    t.ok(status.seen >= 3, `seen ${status.seen}`);
    t.ok(status.changed >= 1, `changed ${status.changed}`);

    const after = (await call('GET', `${M}/orders/${held.id}`)).json();
    t.equal(after.effective.shipping_method, 'Carrier Pigeon');
    t.equal(after.routing.store_id, main.store.id, 'released: routed');
    t.same(await alertsOf(held.id), [], 'its alert was dismissed');
    const evs = (await call('GET', `${M}/orders/${held.id}/events`)).json().events;
    t.ok(
      evs.some((e: { type: string; actor: string }) => e.type === 'rules_applied' && e.actor === 'rules'),
      're-evaluation recorded the change on the order',
    );
  });

  t.test('the export sends the effective order without excluded lines, valid against the XSD', async (t) => {
    const xml = await exportXml(app, main.shipstation);
    const v = await validateOrdersXml(xml);
    t.ok(v.valid, v.errors.join('\n'));
    t.ok(values(xml, 'ShippingMethod').includes('UPS Ground'));
    t.notOk(values(xml, 'ShippingMethod').includes('Standard'), 'never the sent method');
    t.ok(values(xml, 'SKU').includes('BK-1'));
    t.notOk(values(xml, 'SKU').includes('SAMPLE'), 'excluded lines are not exported');
    t.ok(values(xml, 'Company').includes('Receiving Dock'), 'the ATTN line became the company');
    t.notOk(values(xml, 'Address1').includes('ATTN: Receiving Dock'));
  });
});

t.test('skip, hold, set_status and excluded lines at creation', async (t) => {
  const { call, M, alertsOf } = await setup(t, 'rp2');
  await call('POST', `${M}/stores`, { name: 'Main' });
  const rules = [
    {
      name: 'Paid by card is new',
      when: [{ field: 'payment_method', op: 'equals', value: 'card' }],
      then: [{ type: 'set_status', status: 'new' }],
    },
    {
      name: 'Skip marketplace',
      when: [{ field: 'order_source', op: 'equals', value: 'amazon' }],
      then: [{ type: 'skip', reason: 'fulfilled by Amazon' }],
    },
    {
      name: 'Hold big ones',
      when: [{ field: 'total_quantity', op: 'gte', value: 50 }],
      then: [{ type: 'hold', reason: 'check stock' }],
    },
    { name: 'No samples', then: [{ type: 'exclude_items', skus: ['SAMPLE'] }] },
  ];
  for (const r of rules) t.equal((await call('POST', `${M}/rules`, r)).statusCode, 201);

  const paid = (
    await call('POST', `${M}/orders`, order('S-1', { status: 'await_payment', payment_method: 'card' }))
  ).json();
  t.equal(paid.status, 'new', 'set_status at creation');
  const heldByMerchant = (
    await call('POST', `${M}/orders`, order('S-2', { status: 'on_hold', payment_method: 'card' }))
  ).json();
  t.equal(heldByMerchant.status, 'on_hold', 'never for an order created on hold');

  const skipped = (await call('POST', `${M}/orders`, order('S-3', { order_source: 'amazon' }))).json();
  t.equal(skipped.routing.store_id, null);
  t.match(skipped.routing.reason, /skipped by merchant rule \d+ 'Skip marketplace': fulfilled by Amazon/);

  const big = order('S-4');
  big.items = [{ line_id: 'L1', sku: 'BK-1', name: 'Bike', quantity: 60, unit_price: '499.00' }];
  const held = (await call('POST', `${M}/orders`, big)).json();
  t.equal(held.routing.store_id, null);
  t.match(held.routing.reason, /held by merchant rule \d+ 'Hold big ones': check stock/);
  t.same(
    (await alertsOf(held.id)).map((a: { kind: string }) => a.kind),
    ['rule_hold'],
  );

  const samples = order('S-5');
  samples.items = [{ line_id: 'L2', sku: 'SAMPLE', name: 'Free sample', quantity: 1, unit_price: '0.00' }];
  const onlySamples = (await call('POST', `${M}/orders`, samples)).json();
  t.equal(onlySamples.routing.store_id, null);
  t.equal(onlySamples.routing.reason, 'skipped: rules excluded every line');
  t.equal(onlySamples.items.length, 1, 'excluded lines stay on the order');
});

t.test('re-evaluation: open orders follow rule changes; served and closed orders never change', async (t) => {
  const { app, db, call, M, runner, acc, alertsOf } = await setup(t, 'rp3');
  const main = (await call('POST', `${M}/stores`, { name: 'Main' })).json();
  const mk = async (n: string) => (await call('POST', `${M}/orders`, order(n))).json();
  const open = await mk('R-1');
  const served = await mk('R-2');
  const canceled = await mk('R-3');
  const shipped = await mk('R-4');
  // Serve R-2 and R-4 (one export page pins them), then close.
  await exportXml(app, main.shipstation);
  t.equal((await call('POST', `${M}/orders/${canceled.id}/cancel`)).statusCode, 200);
  await sql`update orders set status = 'shipped' where id = ${shipped.id}`.execute(db.db);
  // become unserved again (R-3 stays canceled): the rules may only change R-1.
  await sql`update orders set served_store_id = null, served_at = null,
      status = case when status = 'at_wms' then 'new' else status end
    where id in (${open.id}, ${canceled.id})`.execute(db.db);

  // A webhook exists: re-evaluation must not emit one event per order.
  const hook = await call('POST', `${M}/webhooks`, {
    url: 'http://127.0.0.1:9/hook',
    events: ['order.updated', 'order.unrouted', 'alert.created'],
  });
  t.equal(hook.statusCode, 201, hook.body);
  const eventsBefore = Number(
    (await sql<{ n: number }>`select count(*)::int as n from webhook_events`.execute(db.db)).rows[0]?.n,
  );

  const r = await call('POST', `${M}/rules`, {
    name: 'Hold everything',
    then: [{ type: 'map_shipping_method', map: { Express: 'UPS Next Day Air' }, unmapped: 'hold' }],
  });
  t.equal(r.statusCode, 201, r.body);
  await runner.runDue();
  const job = (await call('GET', `${M}/rules/jobs/${r.json().reevaluation.id}`)).json().reevaluation;
  t.match(job, { state: 'succeeded', seen: 1, changed: 1 });

  const get = async (id: number) => (await call('GET', `${M}/orders/${id}`)).json();
  const o1 = await get(open.id);
  t.equal(o1.routing.store_id, null, 'the open order is held now');
  t.equal((await alertsOf(open.id)).length, 1);
  // One statement wrote the new effective form and the routing: what the rules did (as the rules),
  // then where that sent the order (as routing), in that order.
  const trail = (await call('GET', `${M}/orders/${open.id}/events`)).json().events as {
    type: string;
    actor_type: string;
    actor: string;
    data: Record<string, unknown>;
  }[];
  t.match(trail.slice(-2), [
    {
      type: 'rules_applied',
      actor_type: 'system',
      actor: 'rules',
      data: { applied: [{ name: 'Hold everything' }] },
    },
    {
      type: 'routed',
      actor_type: 'system',
      actor: 'routing',
      data: { from_store_id: main.store.id, store_id: null },
    },
  ]);
  t.match(o1.routing.reason, /held by merchant rule \d+ 'Hold everything'/, 'the reason names the rule');
  for (const [what, before] of [
    ['served', served],
    ['canceled', canceled],
    ['shipped', shipped],
  ] as const) {
    const now = await get(before.id);
    t.same(now.effective.rules.applied, [], `the ${what} order is not touched by the rule`);
    t.equal(now.routing.store_id, before.routing.store_id, `the ${what} order keeps its store`);
  }
  const eventsAfter = Number(
    (await sql<{ n: number }>`select count(*)::int as n from webhook_events`.execute(db.db)).rows[0]?.n,
  );
  t.equal(eventsAfter, eventsBefore, 're-evaluation emitted no webhook events');

  t.test('deleting the rule lifts the hold and dismisses its alert', async (t) => {
    const del = await call('DELETE', `${M}/rules/${r.json().rule.id}`);
    t.equal(del.statusCode, 200, del.body);
    t.match(del.json().reevaluation, { id: Number, state: 'pending' });
    await runner.runDue();
    const back = await get(open.id);
    t.equal(back.routing.store_id, main.store.id);
    t.same(await alertsOf(open.id), []);
  });

  t.test('switching address normalisation re-evaluates too', async (t) => {
    const off = await app.inject({
      method: 'PATCH',
      url: M,
      headers: acc.warehouse.auth,
      payload: { normalise_addresses: false },
    });
    t.equal(off.statusCode, 200, off.body);
    t.match(off.json().reevaluation, { id: Number, state: 'pending' });
    await runner.runDue();
    const plain = await get(open.id);
    t.equal(plain.effective.ship_to.street1, 'ATTN: Receiving Dock', 'normalisation is off');
    t.same(plain.effective.rules.changes, []);
    const same = await app.inject({
      method: 'PATCH',
      url: M,
      headers: acc.warehouse.auth,
      payload: { normalise_addresses: false },
    });
    t.equal(same.json().reevaluation, undefined, 'no change, nothing to re-evaluate');
  });

  t.test('a job of another owner is not found', async (t) => {
    const other = await app.inject({
      method: 'GET',
      url: `/v1/merchants/${acc.solo.code}/rules/jobs/${r.json().reevaluation.id}`,
      headers: acc.solo.auth,
    });
    t.equal(other.statusCode, 404);
  });
});

t.test(
  're-evaluation writes only what changed: units follow exclusions, an unchanged order is left alone',
  async (t) => {
    const { db, call, M, runner } = await setup(t, 'rp6');
    await call('POST', `${M}/stores`, { name: 'Main' });
    const o = (await call('POST', `${M}/orders`, order('U-1'))).json();
    const row = async () =>
      (
        await sql<{ units: number; updated_at: Date; last_modified: Date; events: number }>`
        select units, updated_at, last_modified,
          (select count(*)::int from order_events e where e.order_id = o.id) as events
        from orders o where id = ${o.id}`.execute(db.db)
      ).rows[0]!;
    const change = async (method: 'POST' | 'DELETE', url: string, body?: unknown) => {
      const r = await call(method, url, body);
      t.ok(r.statusCode === 200 || r.statusCode === 201, r.body);
      await runner.runDue();
      return r.json();
    };
    t.equal((await row()).units, 2, 'both lines count');

    await change('POST', `${M}/rules`, { name: 'Tag', then: [{ type: 'add_tags', tags: ['t'] }] });
    const tagged = await row();
    t.equal(tagged.units, 2, 'a change that excludes nothing keeps the units');

    const noSamples = (
      await change('POST', `${M}/rules`, {
        name: 'No samples',
        then: [{ type: 'exclude_items', skus: ['SAMPLE'] }],
      })
    ).rule;
    t.equal((await row()).units, 1, 'the excluded line no longer counts');

    const before = await row();
    await change('POST', `${M}/rules`, {
      name: 'Never',
      when: [{ field: 'order_number', op: 'equals', value: 'none' }],
      then: [{ type: 'add_tags', tags: ['x'] }],
    });
    t.same(
      await row(),
      before,
      'a rule change that leaves the order as it was writes nothing: no event, no timestamp',
    );

    await change('DELETE', `${M}/rules/${noSamples.id}`);
    t.equal((await row()).units, 2, 'the line counts again');
  },
);

t.test(
  'a large chunk, evaluated in two halves, writes each changed order once, events in order',
  async (t) => {
    const { db, call, M, runner } = await setup(t, 'rp7');
    const main = (await call('POST', `${M}/stores`, { name: 'Main', exclude_tags: ['big'] })).json();
    const tagged = (await call('POST', `${M}/stores`, { name: 'Tagged', include_tags: ['big'] })).json();
    const batch = await call('POST', `${M}/orders`, {
      orders: Array.from({ length: 301 }, (_, i) =>
        order(`B-${i}`, { tags: i % 3 === 0 ? ['skip-me'] : [] }),
      ),
    });
    t.equal(batch.statusCode, 200, batch.body);
    const r = await call('POST', `${M}/rules`, {
      name: 'Big',
      when: [{ field: 'tags', op: 'lacks_tag', value: 'skip-me' }],
      then: [{ type: 'add_tags', tags: ['big'] }],
    });
    t.equal(r.statusCode, 201, r.body);
    await runner.runDue();
    const job = (await call('GET', `${M}/rules/jobs/${r.json().reevaluation.id}`)).json().reevaluation;
    t.match(job, { state: 'succeeded', seen: 301, changed: 200 });
    const { rows } = await sql<{ store_id: number; n: number; applied: number; routed: number }>`
    select o.store_id, count(*)::int as n,
      sum((select count(*) from order_events e where e.order_id = o.id and e.type = 'rules_applied'
        and e.data -> 'applied' @> '[{"name": "Big"}]'))::int as applied,
      sum((select count(*) from order_events e where e.order_id = o.id and e.type = 'routed'
        and (e.data ->> 'store_id')::bigint = ${tagged.store.id}))::int as routed
    from orders o where o.merchant_id = (select merchant_id from stores where id = ${main.store.id})
    group by o.store_id order by o.store_id`.execute(db.db);
    t.same(
      rows.map((x) => [x.store_id, x.n, x.applied, x.routed]),
      [
        [main.store.id, 101, 0, 0],
        [tagged.store.id, 200, 200, 200],
      ].sort((a, b) => a[0]! - b[0]!),
      'each changed order got one rules_applied and one routed event; the others none',
    );
    const ids = await sql<{ order_id: number }>`
    select e.order_id from order_events e
    where e.type = 'routed' and (e.data ->> 'store_id')::bigint = ${tagged.store.id} order by e.id`.execute(
      db.db,
    );
    const seq = ids.rows.map((x) => Number(x.order_id));
    t.same(
      seq,
      [...seq].sort((a, b) => a - b),
      'events are written in order id order across the halves',
    );
  },
);

t.test('excluded lines: not needed for shipped; a notice naming one is recorded with an alert', async (t) => {
  const { app, call, M, alertsOf } = await setup(t, 'rp4');
  const store = (await call('POST', `${M}/stores`, { name: 'Main' })).json();
  t.equal(
    (
      await call('POST', `${M}/rules`, {
        name: 'No samples',
        then: [{ type: 'exclude_items', skus: ['SAMPLE'] }],
      })
    ).statusCode,
    201,
  );
  const notice = (number: string, items: { sku: string; quantity: number }[]) =>
    app.inject({
      method: 'POST',
      url: `/shipstation?action=shipnotify&order_number=${number}&carrier=UPS&service=Ground&tracking_number=T-${number}`,
      headers: {
        ...basic(store.shipstation.username, store.shipstation.password),
        'content-type': 'text/xml',
      },
      payload:
        `<?xml version="1.0" encoding="utf-8"?>\n<ShipNotice><OrderNumber>${number}</OrderNumber>` +
        '<LabelCreateDate>07/15/2025 16:20</LabelCreateDate><ShipDate>07/16/2025</ShipDate>' +
        `<Carrier>UPS</Carrier><Service>UPS Ground</Service><TrackingNumber>T-${number}</TrackingNumber><Items>` +
        items
          .map((i) => `<Item><SKU>${i.sku}</SKU><Name>x</Name><Quantity>${i.quantity}</Quantity></Item>`)
          .join('') +
        '</Items></ShipNotice>',
    });

  const a = (await call('POST', `${M}/orders`, order('X-1'))).json();
  t.equal((await notice('X-1', [{ sku: 'BK-1', quantity: 1 }])).statusCode, 200);
  const shippedA = (await call('GET', `${M}/orders/${a.id}`)).json();
  t.equal(shippedA.status, 'shipped', 'the excluded line is not needed for shipped');
  t.same(await alertsOf(a.id), []);

  const b = (await call('POST', `${M}/orders`, order('X-2'))).json();
  const r = await notice('X-2', [
    { sku: 'BK-1', quantity: 1 },
    { sku: 'SAMPLE', quantity: 1 },
  ]);
  t.equal(r.statusCode, 200, 'the notice is recorded');
  const shippedB = (await call('GET', `${M}/orders/${b.id}`)).json();
  t.equal(shippedB.status, 'shipped');
  t.equal(shippedB.items[1].shipped_quantity, 0, 'nothing is applied to the excluded line');
  const alerts = await alertsOf(b.id);
  t.equal(alerts.length, 1);
  t.equal(alerts[0].kind, 'unknown_item');
  t.match(alerts[0].message, /excluded by a rule/);
});

t.test(
  'a rule whose store is retired becomes invalid with an alert; saving it with a live store clears it',
  async (t) => {
    const { call, M, runner } = await setup(t, 'rp5');
    const main = (await call('POST', `${M}/stores`, { name: 'Main' })).json();
    const target = (await call('POST', `${M}/stores`, { name: 'Target', priority: 200 })).json();
    const rule = (
      await call('POST', `${M}/rules`, {
        name: 'Target orders',
        when: [{ field: 'ship_to.company', op: 'equals', value: 'Target' }],
        then: [{ type: 'route_to_store', store_id: target.store.id }],
      })
    ).json().rule;
    // A second rule routing there, deleted later: deleting dismisses its alert.
    const other = (
      await call('POST', `${M}/rules`, {
        name: 'Also Target',
        when: [{ field: 'order_number', op: 'equals', value: 'none' }],
        then: [
          { type: 'add_tags', tags: ['t'] },
          { type: 'route_to_store', store_id: target.store.id },
        ],
      })
    ).json().rule;
    t.equal(rule.invalid_reason, null, 'a new rule is valid');
    await runner.runDue();
    const tgtOrder = { ship_to: { ...shipTo, company: 'Target' } };
    const o = (await call('POST', `${M}/orders`, order('INV-1', tgtOrder))).json();
    t.equal(o.routing.store_id, target.store.id, 'the rule routes the order');

    const retired = await call('DELETE', `${M}/stores/${target.store.id}`);
    t.equal(retired.statusCode, 200, retired.body);
    const got = (await call('GET', `${M}/rules/${rule.id}`)).json().rule;
    t.equal(got.invalid_reason, `then[0].store_id: store ${target.store.id} 'Target' is retired`);
    t.equal(
      (await call('GET', `${M}/rules/${other.id}`)).json().rule.invalid_reason,
      `then[1].store_id: store ${target.store.id} 'Target' is retired`,
      'the path names the action',
    );
    const alerts = (await call('GET', `${M}/alerts?kind=rule_invalid`)).json().alerts;
    t.equal(alerts.length, 2, 'one alert per rule');
    const mine = alerts.find((a: { data: { rule_id: number } }) => a.data.rule_id === rule.id);
    t.match(mine, {
      kind: 'rule_invalid',
      store_id: target.store.id,
      order_id: null,
      message: new RegExp(`merchant rule ${rule.id} 'Target orders' is invalid`),
    });
    const now = (await call('GET', `${M}/orders/${o.id}`)).json();
    t.equal(now.routing.store_id, null, 'the rule still runs: its order is not sent to another store');
    t.match(now.routing.reason, /routes to store \d+, which is retired/);
    t.equal((await call('GET', `${M}/rules`)).json().rules.length, 2, 'invalid rules are listed');

    // Retiring again changes nothing: no second alert.
    await call('DELETE', `${M}/stores/${target.store.id}`);
    t.equal((await call('GET', `${M}/alerts?kind=rule_invalid`)).json().alerts.length, 2);

    // Saving it naming the retired store is refused; switching it off leaves it invalid.
    const refused = await call('PATCH', `${M}/rules/${rule.id}`, {
      then: [{ type: 'route_to_store', store_id: target.store.id }],
    });
    t.equal(refused.statusCode, 400);
    t.equal(refused.json().error.details[0].path, 'then[0].store_id');
    const renamed = await call('PATCH', `${M}/rules/${rule.id}`, { name: 'Target orders (old)' });
    t.equal(
      renamed.json().rule.invalid_reason,
      got.invalid_reason,
      'a change that keeps the store keeps it invalid',
    );

    const fixed = await call('PATCH', `${M}/rules/${rule.id}`, {
      then: [{ type: 'route_to_store', store_id: main.store.id }],
    });
    t.equal(fixed.statusCode, 200, fixed.body);
    t.equal(fixed.json().rule.invalid_reason, null, 'saved with a live store: valid again');
    const after = (await call('GET', `${M}/alerts?kind=rule_invalid&status=all`)).json().alerts;
    t.match(
      after.find((a: { data: { rule_id: number } }) => a.data.rule_id === rule.id),
      { dismissed_by: 'rules', dismissed_at: String },
      'its alert is dismissed',
    );
    await runner.runDue();
    t.equal(
      (await call('GET', `${M}/orders/${o.id}`)).json().routing.store_id,
      main.store.id,
      'and routes again',
    );

    const del = await call('DELETE', `${M}/rules/${other.id}`);
    t.equal(del.statusCode, 200, del.body);
    t.same(
      (await call('GET', `${M}/alerts?kind=rule_invalid`)).json().alerts,
      [],
      'deleting dismissed the other',
    );
  },
);
