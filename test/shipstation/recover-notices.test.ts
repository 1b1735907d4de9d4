import { sql } from 'kysely';
import t from 'tap';
import { createJobRunner } from '../../src/background.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { RECOVER_NOTICES_JOB, recoverStuckNotices } from '../../src/shipstation/recover-notices.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createOrder, createStore, noticeRow, noticeXml, setup, shippedOf } from '../shipments/helpers.js';

t.test('notices stuck in received are finished: applied, or unmatched with an alert', async (t) => {
  const { app, db, merchant } = await setup(t);
  const store = await createStore(app, merchant);
  const { merchant_id: merchantId } = await db
    .selectFrom('stores')
    .select('merchant_id')
    .where('id', '=', store.id)
    .executeTakeFirstOrThrow();

  /** A notice as a process that died right after storing it left it. */
  const stuck = async (body: string, query: Record<string, string>, ageSeconds: number) => {
    const { rows } = await sql<{ id: number }>`
      insert into ship_notices (merchant_id, store_id, query, content_type, body, order_number, tracking_number, received_at)
      values (${merchantId}, ${store.id}, ${JSON.stringify(query)}::jsonb, 'text/xml', ${body},
        ${query['order_number'] ?? null}, ${query['tracking_number'] ?? null},
        now() - make_interval(secs => ${ageSeconds}))
      returning id
    `.execute(db);
    return rows[0]!.id;
  };

  const orders = [];
  const matched: number[] = [];
  for (let i = 0; i < 4; i++) {
    const o = await createOrder(app, merchant);
    orders.push(o);
    matched.push(
      await stuck(
        noticeXml({ orderNumber: o.order_number, tracking: `RC-${i}`, items: [{ sku: 'MUG', quantity: 1 }] }),
        { order_number: o.order_number, tracking_number: `RC-${i}`, carrier: 'UPS' },
        120,
      ),
    );
  }
  const lost = await stuck(
    noticeXml({ orderNumber: 'NOPE-1', tracking: 'RC-L' }),
    { order_number: 'NOPE-1' },
    120,
  );
  const unreadable = await stuck('<ShipNotice><Items>', { order_number: orders[0]!.order_number }, 120);
  const fresh = await stuck(
    noticeXml({ orderNumber: orders[1]!.order_number, tracking: 'RC-F' }),
    { order_number: orders[1]!.order_number },
    0,
  );

  // Two instances at once: each notice is claimed by one of them (SKIP LOCKED), none twice.
  const [a, b] = await Promise.all([recoverStuckNotices(db), recoverStuckNotices(db)]);
  t.equal(a.applied + b.applied, 4, 'the four matching notices are applied once');
  t.equal(a.unmatched + b.unmatched, 2, 'the unmatched and the unreadable one');

  for (const [i, id] of matched.entries()) {
    const n = await noticeRow(db, id);
    t.match(n, { status: 'applied', order_id: orders[i]!.id, resolved_by: 'notice-recovery' });
    t.same(await shippedOf(db, orders[i]!.id), [1, 0]);
    const shipments = await db.selectFrom('shipments').select('id').where('notice_id', '=', id).execute();
    t.equal(shipments.length, 1, `notice ${id} made one shipment`);
  }
  for (const [id, reason] of [
    [lost, /no order of this merchant matches/],
    [unreadable, /cannot be read/],
  ] as const) {
    t.match(await noticeRow(db, id), { status: 'unmatched', reason });
    const alerts = await db
      .selectFrom('alerts')
      .select(['kind', 'store_id', 'dismissed_at'])
      .where('notice_id', '=', id)
      .execute();
    t.match(alerts, [{ kind: 'unmatched_notice', store_id: store.id, dismissed_at: null }]);
  }
  t.match(await noticeRow(db, fresh), { status: 'received' }, 'a notice still being applied is left alone');

  t.same(
    await recoverStuckNotices(db),
    { applied: 0, unmatched: 0 },
    'nothing left: a second run is a no-op',
  );
  t.same(await recoverStuckNotices(db, { olderThanSeconds: 0 }), { applied: 1, unmatched: 0 });
  t.match(await noticeRow(db, fresh), { status: 'applied', order_id: orders[1]!.id });
});

t.test('the jobs runner finishes stuck notices as a periodic job', async (t) => {
  const { app, db, merchant } = await setup(t);
  const store = await createStore(app, merchant);
  const order = await createOrder(app, merchant);
  const { rows } = await sql<{ id: number }>`
    insert into ship_notices (merchant_id, store_id, query, content_type, body, order_number, received_at)
    select merchant_id, id, ${JSON.stringify({ order_number: order.order_number, carrier: 'UPS' })}::jsonb,
      'text/xml', ${noticeXml({ orderNumber: order.order_number, tracking: 'RJ-1', items: [{ sku: 'MUG', quantity: 1 }] })},
      ${order.order_number}, now() - interval '5 minutes'
    from stores where id = ${store.id}
    returning id
  `.execute(db);
  const runner = createJobRunner(
    db,
    { webhookAllowPrivate: false },
    new SecretHasher(TEST_SECRET_KEY).box,
    undefined,
  );
  await runner.ensurePeriodic();
  t.ok((await runner.runDue()) >= 1);
  t.match(await noticeRow(db, rows[0]!.id), { status: 'applied', order_id: order.id });
  const job = await db
    .selectFrom('jobs')
    .select(['status', 'run_at'])
    .where('kind', '=', RECOVER_NOTICES_JOB)
    .executeTakeFirstOrThrow();
  t.equal(job.status, 'pending', 'scheduled again');
});
