/**
 * The summary statement against the reference (the first statement, reading lines, events and
 * shipments as stored), on random data:
 *
 * 1. rows written directly — orders of every status, currency and routing, lines (adjustments,
 *    excluded), moves to shipped from any status, live and voided shipments with or without a ship
 *    date — around time-zone transitions (DST at and around midnight, half- and quarter-hour
 *    offsets), their facts computed by refreshSummaryFacts; every date, grouping and scope;
 * 2. orders written through the service (ingestion, PUT, a rule excluding lines and the
 *    re-evaluation it starts, cancel, hold, export, notices, voids, pickups): the facts the writers
 *    keep equal refreshSummaryFacts' recomputation, and the summaries equal the reference.
 */
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import t from 'tap';
import type { DB, OrderStatus } from '../../src/db/schema.js';
import { ORDER_STATUSES } from '../../src/db/schema.js';
import { inTransaction } from '../../src/db/transaction.js';
import { refreshSummaryFacts } from '../../src/domain/summary-facts.js';
import { reevaluateOpenOrders } from '../../src/orders/service.js';
import { type SummaryQuery, summarise } from '../../src/summaries/query.js';
import * as summaryFactsMigration from '../../migrations/2026-12-04T02-summary-facts.js';
import { createTestDb } from '../helpers/db.js';
import {
  createOrder,
  createStore,
  noticeXml,
  notify,
  orderPayload,
  serve,
  setup,
} from '../shipments/helpers.js';
import { referenceStatement } from './reference.js';

const RUNS = Number(process.env.SUMMARY_RUNS ?? 30);

/** Zones with DST at or around midnight, and half- and quarter-hour offsets. */
const ZONES = [
  'UTC',
  'America/New_York',
  'America/Havana', // falls back at 01:00 to 00:00: an ambiguous midnight
  'America/Santiago', // springs forward at midnight: a missing midnight
  'America/Sao_Paulo', // (2018) springs forward at midnight, falls back to 23:00
  'America/St_Johns',
  'Europe/London',
  'Australia/Lord_Howe', // half-hour DST
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Pacific/Chatham',
];

/** Days around transitions of those zones; each run's instants and period lie around one. */
const CENTRES = [
  '2026-03-08',
  '2026-11-01',
  '2026-09-06',
  '2026-04-05',
  '2026-10-04',
  '2026-03-29',
  '2026-10-25',
  '2018-11-04',
  '2019-02-17',
  '2026-06-15',
];

const DAY_MS = 86_400_000;
const centreMs = (c: string) => Date.parse(`${c}T00:00:00Z`);
/** An instant within 3 days of the centre, often on a quarter hour (where days and shifts begin). */
const instant = (centre: number) =>
  fc.oneof(
    fc.integer({ min: -3 * 96, max: 3 * 96 }).map((q) => new Date(centre + q * 900_000)),
    fc.integer({ min: -3 * DAY_MS, max: 3 * DAY_MS }).map((ms) => new Date(centre + ms)),
  );
const day = (centre: number) =>
  fc.integer({ min: -4, max: 3 }).map((d) => new Date(centre + d * DAY_MS).toISOString().slice(0, 10));
const cents = fc.integer({ min: 0, max: 99_999 }).map((c) => (c / 100).toFixed(2));

const OPENISH: OrderStatus[] = ['await_payment', 'new', 'at_wms', 'on_hold', 'confirmed', 'shipped'];

function orderArb(centre: number, stores: number) {
  return fc.record({
    merchant: fc.integer({ min: 0, max: 2 }),
    source: fc.constantFrom('web', 'amazon', 'api'),
    status: fc.constantFrom(...ORDER_STATUSES),
    currency: fc.constantFrom('USD', 'EUR', null),
    total: cents,
    shipping: fc.option(cents, { nil: null }),
    store: fc.option(fc.integer({ min: 0, max: stores - 1 }), { nil: null }),
    served: fc.boolean(),
    created: instant(centre),
    lines: fc.array(
      fc.record({
        quantity: fc.integer({ min: 1, max: 9 }),
        adjustment: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
        excluded: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    moves: fc.array(
      fc.record({
        from: fc.constantFrom(...OPENISH),
        to: fc.constantFrom('shipped', 'at_wms', 'canceled'),
        at: instant(centre),
      }),
      { maxLength: 3 },
    ),
    shipments: fc.array(
      fc.record({
        shipDate: fc.option(day(centre), { nil: null }),
        cost: fc.option(cents, { nil: null }),
        voided: fc.boolean(),
        recorded: instant(centre),
      }),
      { maxLength: 3 },
    ),
  });
}

function queryArb(centre: number, merchantId: number, warehouseId: number) {
  return fc
    .record({
      date: fc.constantFrom('created' as const, 'shipped' as const),
      group: fc.constantFrom(undefined, 'store' as const, 'source' as const, 'status' as const),
      timezone: fc.constantFrom(...ZONES),
      from: day(centre),
      days: fc.integer({ min: 1, max: 5 }),
      warehouse: fc.boolean(),
    })
    .map(
      (q): SummaryQuery => ({
        scope: q.warehouse ? { warehouseId } : { merchantId },
        date: q.date,
        group: q.group,
        timezone: q.timezone,
        from: q.from,
        to: new Date(Date.parse(`${q.from}T00:00:00Z`) + (q.days - 1) * DAY_MS).toISOString().slice(0, 10),
      }),
    );
}

async function sameAsReference(db: Kysely<DB>, q: SummaryQuery): Promise<string | null> {
  const got = await summarise(db, q);
  const want = (await referenceStatement(q).execute(db)).rows;
  const a = JSON.stringify(got);
  const b = JSON.stringify(want);
  return a === b ? null : `${JSON.stringify(q)}\n got  ${a}\n want ${b}`;
}

t.test('the statement equals the reference on random rows', async (t) => {
  const tdb = await createTestDb(t);
  const db = tdb.db;
  const w = await sql<{
    id: number;
  }>`insert into warehouses (code, name) values ('dw', 'W') returning id`.execute(db);
  const warehouseId = Number(w.rows[0]!.id);
  const merchants: number[] = [];
  for (const [code, wh] of [
    ['da', warehouseId],
    ['db', warehouseId],
    ['dc', null],
  ] as const) {
    const m = await sql<{ id: number }>`
      insert into merchants (code, name, warehouse_id) values (${code}, ${code}, ${wh}) returning id`.execute(
      db,
    );
    merchants.push(Number(m.rows[0]!.id));
  }
  // Two stores per merchant; store index i of merchant m is stores[m][i].
  const stores: number[][] = [];
  for (const m of merchants) {
    const ids: number[] = [];
    for (const n of [1, 2]) {
      const s = await sql<{ id: number }>`
        insert into stores (merchant_id, name, username, password_hash, order_sources, include_tags, exclude_tags)
        values (${m}, ${`S${n}`}, ${`ss_d_${m}_${n}`}, '\\x00', '{}', '{}', '{}') returning id`.execute(db);
      ids.push(Number(s.rows[0]!.id));
    }
    stores.push(ids);
  }

  const scenario = fc.constantFrom(...CENTRES).chain((c) => {
    const centre = centreMs(c);
    return fc.record({
      orders: fc.array(orderArb(centre, 2), { minLength: 3, maxLength: 14 }),
      queries: fc.array(queryArb(centre, merchants[0]!, warehouseId), { minLength: 1, maxLength: 4 }),
    });
  });

  let compared = 0;
  let nonEmpty = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async ({ orders, queries }) => {
      await sql`truncate order_events, shipment_lines, shipments, order_lines, orders cascade`.execute(db);
      let n = 0;
      for (const o of orders) {
        const m = merchants[o.merchant]!;
        const store = o.store === null ? null : stores[o.merchant]![o.store]!;
        const r = await sql<{ id: number }>`
          insert into orders (merchant_id, order_source, order_number, status, order_date, currency, order_total,
            shipping_amount, content, content_hash, store_id, served_store_id, created_at)
          values (${m}, ${o.source}, ${`D${++n}`}, ${o.status}, now(), ${o.currency}, ${o.total}::numeric,
            ${o.shipping}::numeric, '{}', 'x', ${store}, ${o.served ? store : null}, ${o.created})
          returning id`.execute(db);
        const id = Number(r.rows[0]!.id);
        for (const [position, l] of o.lines.entries()) {
          await sql`
            insert into order_lines (merchant_id, order_id, position, quantity, unit_price, adjustment, excluded, content)
            values (${m}, ${id}, ${position}, ${l.quantity}, 1, ${l.adjustment}, ${l.excluded}, '{}')`.execute(
            db,
          );
        }
        for (const e of o.moves) {
          await sql`
            insert into order_events (merchant_id, order_id, at, type, from_status, to_status, actor_type)
            values (${m}, ${id}, ${e.at}, ${e.to}, ${e.from}, ${e.to}, 'system')`.execute(db);
        }
        for (const [i, s] of o.shipments.entries()) {
          await sql`
            insert into shipments (merchant_id, order_id, ship_date, shipping_cost, idempotency_key, created_at, voided_at)
            values (${m}, ${id}, ${s.shipDate}::date, ${s.cost}::numeric, ${`k${id}-${i}`}, ${s.recorded},
              ${s.voided ? s.recorded : null})`.execute(db);
        }
      }
      await refreshSummaryFacts(db);
      for (const q of queries) {
        const diff = await sameAsReference(db, q);
        if (diff !== null) throw new Error(diff);
        compared++;
        if ((await summarise(db, q)).length > 0) nonEmpty++;
      }
    }),
    { numRuns: RUNS },
  );
  t.ok(compared >= RUNS, `${compared} summaries compared`);
  t.ok(nonEmpty >= compared / 10, `${nonEmpty} of them not empty`);
});

/** The summary facts of every order, as stored. */
async function facts(db: Kysely<DB>) {
  return (
    await sql`
      select id, units, shipped_at, shipment_count, shipment_cost::text, shipment_dates::text,
        shipment_costs::text, shipment_recorded::text, ship_span::text
      from orders order by id`.execute(db)
  ).rows;
}

const SKUS = ['A', 'B', 'X'];
/** A rule that excludes the lines of SKU X. */
// biome-ignore lint/suspicious/noThenProperty: a rule's `then` is its actions (the rules API)
const NO_X = { name: 'No X', then: [{ type: 'exclude_items', skus: ['X'] }] };
const itemArb = fc.record({
  sku: fc.constantFrom(...SKUS),
  quantity: fc.integer({ min: 1, max: 4 }),
  adjustment: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
});
const opArb = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    items: fc.array(itemArb, { minLength: 1, maxLength: 3 }),
    status: fc.constantFrom('new' as const, 'await_payment' as const, 'on_hold' as const),
  }),
  fc.record({
    op: fc.constant('put' as const),
    order: fc.nat(),
    items: fc.array(itemArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    op: fc.constantFrom('cancel' as const, 'hold' as const, 'release' as const, 'pay' as const),
    order: fc.nat(),
  }),
  fc.record({ op: fc.constant('serve' as const), order: fc.nat() }),
  fc.record({
    op: fc.constant('ship' as const),
    order: fc.nat(),
    all: fc.boolean(),
    day: fc.integer({ min: 1, max: 28 }),
    cost: fc.option(cents, { nil: undefined }),
  }),
  fc.record({ op: fc.constant('void' as const), shipment: fc.nat() }),
  fc.record({ op: fc.constant('confirm' as const), shipment: fc.nat() }),
  fc.record({ op: fc.constantFrom('exclude' as const, 'include' as const) }),
);

t.test('the writers keep the facts; summaries of what they wrote equal the reference', async (t) => {
  const { app, db, merchant, warehouse } = await setup(t);
  const store = await createStore(app, merchant);
  const idOf = async (table: 'merchants' | 'warehouses', code: string) =>
    Number((await db.selectFrom(table).select('id').where('code', '=', code).executeTakeFirstOrThrow()).id);
  const mid = await idOf('merchants', merchant.code);
  const wid = await idOf('warehouses', warehouse.code);
  const call = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
    app.inject({
      method,
      url: `/v1/merchants/${merchant.code}${url}`,
      headers: merchant.auth,
      ...(payload === undefined ? {} : { payload }),
    });
  let number = 0;
  let checked = 0;

  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 14 }), async (ops) => {
      const orders: { id: number; number: string }[] = [];
      const shipments: number[] = [];
      let rule: number | null = null;
      for (const o of ops) {
        const pick = <T>(xs: T[], i: number) => (xs.length === 0 ? undefined : xs[i % xs.length]);
        if (o.op === 'create') {
          const x = await createOrder(app, merchant, {
            number: `W${++number}`,
            items: o.items,
            status: o.status,
          });
          orders.push({ id: x.id, number: x.order_number });
        } else if (o.op === 'put') {
          const x = pick(orders, o.order);
          // 409 once served or shipped
          if (x) await call('PUT', `/orders/${x.id}`, orderPayload({ number: x.number, items: o.items }));
        } else if (o.op === 'cancel' || o.op === 'hold' || o.op === 'release' || o.op === 'pay') {
          const x = pick(orders, o.order);
          if (x) await call('POST', `/orders/${x.id}/${o.op}`, {});
        } else if (o.op === 'serve') {
          const x = pick(orders, o.order);
          if (x) await serve(db, x.id, store.id);
        } else if (o.op === 'ship') {
          const x = pick(orders, o.order);
          if (!x) continue;
          const lines = await db
            .selectFrom('order_lines')
            .select(['id', 'quantity'])
            .where('order_id', '=', x.id)
            .orderBy('position')
            .execute();
          const items = (o.all ? lines : lines.slice(0, 1)).map((l) => ({
            lineItemId: l.id,
            quantity: l.quantity,
          }));
          const r = await notify(app, store, {
            body: noticeXml({
              orderId: x.id,
              orderNumber: x.number,
              tracking: `T${++number}`,
              shipDate: `11/${String(o.day).padStart(2, '0')}/2026`,
              ...(o.cost === undefined ? {} : { cost: o.cost }),
              items,
            }),
          });
          if (r.statusCode !== 200) throw new Error(r.body);
          const s = await db
            .selectFrom('shipments')
            .select('id')
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst();
          if (s) shipments.push(Number(s.id));
        } else if (o.op === 'void') {
          const s = pick(shipments, o.shipment);
          if (s !== undefined) await call('POST', `/shipments/${s}/void`, {});
        } else if (o.op === 'confirm') {
          const s = pick(shipments, o.shipment);
          if (s !== undefined) await call('POST', '/shipments/confirm', { shipment_ids: [s] });
        } else {
          if (o.op === 'exclude' && rule === null) {
            const r = await call('POST', '/rules', NO_X);
            if (r.statusCode !== 201) throw new Error(r.body);
            rule = r.json().rule.id;
          } else if (o.op === 'include' && rule !== null) {
            await call('DELETE', `/rules/${rule}`);
            rule = null;
          } else continue;
          // What the re-evaluation job does, run here rather than waiting for it.
          await inTransaction(db, (trx) => reevaluateOpenOrders(trx, mid, 0, 10_000));
        }
      }
      if (rule !== null) await call('DELETE', `/rules/${rule}`);
      const kept = await facts(db);
      await refreshSummaryFacts(db);
      const recomputed = await facts(db);
      if (JSON.stringify(kept) !== JSON.stringify(recomputed)) {
        throw new Error(`kept ${JSON.stringify(kept)}\nrecomputed ${JSON.stringify(recomputed)}`);
      }
      const today = new Date().toISOString().slice(0, 10);
      for (const q of [
        { date: 'created' as const, group: 'status' as const, timezone: 'UTC' },
        { date: 'shipped' as const, group: 'store' as const, timezone: 'Asia/Kathmandu' },
      ]) {
        for (const scope of [{ merchantId: mid }, { warehouseId: wid }]) {
          const diff = await sameAsReference(db, { ...q, scope, from: '2026-11-01', to: today });
          if (diff !== null) throw new Error(diff);
        }
      }
      checked++;
    }),
    { numRuns: Math.max(5, Math.round(RUNS / 3)) },
  );
  t.ok(checked >= 5, `${checked} sequences checked`);

  // The migration's backfill gives what the writers kept, on the orders they wrote — with at least
  // one shipped order, one shipped twice and one voided, whatever the sequences did.
  for (const [n, voided] of [
    [2, false],
    [2, true],
    [1, false],
  ] as const) {
    const o = await createOrder(app, merchant, { items: [{ sku: 'A', quantity: n }] });
    await serve(db, o.id, store.id);
    for (let i = 0; i < n; i++) {
      const r = await notify(app, store, {
        body: noticeXml({
          orderId: o.id,
          orderNumber: o.order_number,
          tracking: `T${++number}`,
          items: [{ lineItemId: o.lines[0]!, quantity: 1 }],
        }),
      });
      t.equal(r.statusCode, 200, r.body);
    }
    if (voided) {
      const s = await db
        .selectFrom('shipments')
        .select('id')
        .where('order_id', '=', o.id)
        .executeTakeFirstOrThrow();
      t.equal((await call('POST', `/shipments/${s.id}/void`, {})).statusCode, 200);
    }
  }
  const kept = await facts(db);
  t.ok(
    kept.some((f) => (f as { shipment_count: number }).shipment_count > 0),
    'some orders have shipments',
  );
  await summaryFactsMigration.down(db);
  await summaryFactsMigration.up(db);
  t.same(await facts(db), kept, 'the backfill equals the facts kept');
});

t.test('a day starts at the first instant of its local date', async (t) => {
  const tdb = await createTestDb(t);
  const db = tdb.db;
  const m = await sql<{
    id: number;
  }>`insert into merchants (code, name) values ('edge', 'Edge') returning id`.execute(db);
  const mid = Number(m.rows[0]!.id);
  // Havana falls back from 01:00 to 00:00 on 2026-11-01, so 00:30 happens twice: 04:30Z is the first.
  // Santiago springs forward from 00:00 to 01:00 on 2026-09-06: the day starts at 04:00Z.
  const at = ['2026-11-01T04:30:00Z', '2026-11-01T03:59:00Z', '2026-09-06T04:00:00Z', '2026-09-06T03:59:59Z'];
  for (const [i, created] of at.entries()) {
    await sql`
      insert into orders (merchant_id, order_source, order_number, status, order_date, order_total, content,
        content_hash, created_at)
      values (${mid}, 'web', ${`E${i}`}, 'new', now(), 1, '{}', 'x', ${created})`.execute(db);
  }
  const count = async (timezone: string, day: string) => {
    const q: SummaryQuery = {
      scope: { merchantId: mid },
      date: 'created',
      from: day,
      to: day,
      timezone,
      group: undefined,
    };
    t.equal(await sameAsReference(db, q), null, `${timezone} ${day}: as the reference`);
    return (await summarise(db, q)).reduce((n, r) => n + r.orders, 0);
  };
  t.equal(await count('America/Havana', '2026-11-01'), 1, 'the first 00:30 is on the new day');
  t.equal(await count('America/Havana', '2026-10-31'), 1, '23:59 the evening before');
  t.equal(await count('America/Santiago', '2026-09-06'), 1, 'the day begins at 01:00 local');
  t.equal(await count('America/Santiago', '2026-09-05'), 1);
});
