import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import t from 'tap';
import type { DB, OrderStatus } from '../../src/db/schema.js';
import { SecretHasher } from '../../src/lib/secrets.js';
import { writeEffectiveAndRoute } from '../../src/orders/repository.js';
import { lockMerchantForRouting, routeOrders } from '../../src/stores/assign.js';
import { type RuleRoute, routeWith, type StoredEffective } from '../../src/rules/effective.js';
import type { RoutingConnection, RoutingDecision } from '../../src/stores/routing.js';
import { type StoreView, StoresService } from '../../src/stores/service.js';
import { createTestDb } from '../helpers/db.js';
import { insertOrders } from './helpers.js';

/**
 * For random connections, orders and changes, the database path (StoresService + assign.ts) must put every
 * order exactly where the pure routeWith() says (what the rules decided — held, skipped, a rule's
 * store — then routeOrder() on the store filters), with the same reason text; pinned orders and
 * orders in terminal statuses never move; last_modified moves exactly when the assignment changes.
 * Re-evaluation's statement (orders/repository.ts writeEffectiveAndRoute: new effective tags and
 * rules' decision, and routing, in one write) is held to the same pure function.
 */

const SOURCES = ['shop', 'amazon', 'api'];
const TAGS = ['HOLD', 'VIP', 'vip', 'gift', 'B2B'];
const NAMES = ['Main', "O'Hara", 'EU, fast', 'x'];
const OPEN: OrderStatus[] = ['await_payment', 'new', 'at_wms', 'on_hold'];
const TERMINAL: OrderStatus[] = ['canceled', 'shipped', 'confirmed'];
const OLD = new Date('2026-01-01T00:00:00Z');

/** Empty filters are common in real setups (and make ties between accepting stores likely). */
const often = <T>(empty: T[], arb: fc.Arbitrary<T[]>) =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(empty) }, { weight: 1, arbitrary: arb });
const filter = fc.record(
  {
    order_sources: often([], fc.uniqueArray(fc.constantFrom(...SOURCES), { minLength: 1, maxLength: 2 })),
    include_tags: often([], fc.uniqueArray(fc.constantFrom(...TAGS), { minLength: 1, maxLength: 2 })),
    exclude_tags: often([], fc.uniqueArray(fc.constantFrom(...TAGS), { minLength: 1, maxLength: 2 })),
    priority: fc.integer({ min: 1, max: 2 }),
    name: fc.constantFrom(...NAMES),
  },
  { requiredKeys: [] },
);
/** What rules decided for the order (stored in orders.effective -> 'route'); mostly nothing. */
const ruleDecision = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('held' as const, 'skipped' as const, 'store' as const),
      /** For a rule's store: which store (by index; past the end, one that does not exist). */
      store: fc.nat({ max: 8 }),
      reason: fc.constantFrom("held by merchant rule 1 'Map': no method", "skipped: it's B2B"),
    }),
  },
);
const order = fc.record({
  order_source: fc.constantFrom(...SOURCES),
  tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 3 }),
  status: fc.constantFrom<OrderStatus>(...OPEN, ...OPEN, 'canceled'),
  rule: ruleDecision,
  /** Withheld until a person releases it (orders.withheld): unrouted whatever the rules say. */
  withheld: fc.option(
    fc.constantFrom("withheld: its ShipStation number 7 is already order 1's", 'withheld: split'),
    {
      freq: 4,
    },
  ),
});
const merchant = fc.constantFrom(0, 1);
const pick = fc.nat({ max: 1000 });

type Generated<A> = A extends fc.Arbitrary<infer T> ? T : never;
type Settings = Generated<typeof filter>;
type NewOrder = Generated<typeof order>;

type Command =
  | { kind: 'createStore'; merchant: number; settings: Settings }
  | { kind: 'patchStore'; store: number; settings: Settings }
  | { kind: 'retireStore'; store: number }
  | { kind: 'addOrders'; merchant: number; orders: NewOrder[] }
  | { kind: 'retag'; order: number; tags: string[] }
  | { kind: 'pin'; order: number }
  | { kind: 'release'; order: number }
  | { kind: 'setStatus'; order: number; status: OrderStatus }
  | { kind: 'reevaluate'; orders: { order: number; tags: string[]; rule: Generated<typeof ruleDecision> }[] };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('createStore' as const), merchant, settings: filter }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('patchStore' as const), store: pick, settings: filter }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retireStore' as const), store: pick }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('addOrders' as const),
      merchant,
      orders: fc.array(order, { minLength: 1, maxLength: 6 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('retag' as const),
      order: pick,
      tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pin' as const), order: pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), order: pick }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reevaluate' as const),
      orders: fc.array(
        fc.record({
          order: pick,
          tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 3 }),
          rule: ruleDecision,
        }),
        { minLength: 1, maxLength: 4 },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('setStatus' as const),
      order: pick,
      status: fc.constantFrom<OrderStatus>(...OPEN, ...TERMINAL),
    }),
  },
);

interface ModelOrder {
  id: number;
  merchant: number;
  order_source: string;
  tags: string[];
  status: OrderStatus;
  route: RuleRoute | null;
  withheld: string | null;
  pinned: boolean;
  /** Where the order must be: the pure decision, or (terminal at creation) never routed. */
  expected: RoutingDecision | { store_id: null; reason: null };
}

interface ModelStore extends RoutingConnection {
  merchant: number;
  retired: boolean;
}

/**
 * A stored effective that carries only what routing reads (the effective tags and the rules'
 * decision): re-evaluation writes it with the order's routing in one statement.
 */
const effectiveFor = (tags: string[], route: RuleRoute | null): StoredEffective =>
  ({ fields: { tags }, applied: [], changes: [], holds: [], route }) as unknown as StoredEffective;

t.test('database routing == pure routing, for random stores, orders and changes', async (t) => {
  const tdb = await createTestDb(t);
  const db: Kysely<DB> = tdb.db;
  const service = new StoresService(db, new SecretHasher('property-secret-0123456789abcdef0123'));
  const merchantIds: number[] = [];
  for (const code of ['prop-a', 'prop-b']) {
    const m = await db
      .insertInto('merchants')
      .values({ code, name: code })
      .returning('id')
      .executeTakeFirstOrThrow();
    merchantIds.push(m.id);
  }
  const numRuns = tdb.engine === 'postgres' ? 40 : 12;
  let checkedOrders = 0;

  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 20 }), async (commands) => {
      await sql`delete from order_events`.execute(db);
      await sql`delete from orders`.execute(db);
      await sql`delete from stores`.execute(db);
      const stores: ModelStore[] = [];
      const orders: ModelOrder[] = [];
      /** The rules' decision a generated one stands for (a rule's store by index into `stores`). */
      const routeOfRule = (rule: Generated<typeof ruleDecision>): RuleRoute | null => {
        if (rule === null) return null;
        if (rule.kind !== 'store') return { kind: rule.kind, reason: rule.reason };
        const s = stores[rule.store];
        return { kind: 'store', store_id: s?.id ?? 999_999, reason: `routes to store ${s?.id}, retired` };
      };
      const fromView = (v: StoreView, m: number): ModelStore => ({
        ...v,
        merchant: m,
        retired: v.retired_at !== null,
      });

      for (const c of commands) {
        await sql`update orders set last_modified = ${OLD}`.execute(db);
        const before = new Map(orders.map((o) => [o.id, o.expected.store_id]));
        const fresh = new Set<number>();
        /** Orders re-evaluation wrote: their last_modified moves whether or not they move. */
        const rewritten = new Set<number>();
        switch (c.kind) {
          case 'createStore': {
            const m = merchantIds[c.merchant]!;
            const { store } = await service.create(m, { name: 'x', ...c.settings });
            stores.push(fromView(store, m));
            break;
          }
          case 'patchStore': {
            if (stores.length === 0) continue;
            const i = c.store % stores.length;
            const s = stores[i]!;
            const { store } = await service.update(s.merchant, s.id, c.settings);
            stores[i] = fromView(store, s.merchant);
            break;
          }
          case 'retireStore': {
            if (stores.length === 0) continue;
            const i = c.store % stores.length;
            const s = stores[i]!;
            const { store } = await service.retire(s.merchant, s.id);
            stores[i] = fromView(store, s.merchant);
            break;
          }
          case 'addOrders': {
            const m = merchantIds[c.merchant]!;
            const routes = c.orders.map((o) => routeOfRule(o.rule));
            const ids = await db.transaction().execute(async (trx) => {
              const ids = await insertOrders(trx, m, c.orders);
              for (const [k, id] of ids.entries()) {
                const withheld = c.orders[k]!.withheld;
                if (withheld !== null)
                  await sql`update orders set withheld = ${withheld} where id = ${id}`.execute(trx);
                const route = routes[k];
                if (route) {
                  await sql`update orders set effective = ${JSON.stringify({ route })}::jsonb where id = ${id}`.execute(
                    trx,
                  );
                }
              }
              await routeOrders(trx, m, ids);
              return ids;
            });
            ids.forEach((id, k) => {
              const { rule: _rule, ...o } = c.orders[k]!;
              fresh.add(id);
              orders.push({
                id,
                merchant: m,
                ...o,
                route: routes[k] ?? null,
                pinned: false,
                expected: { store_id: null, reason: 'not evaluated' },
              });
            });
            break;
          }
          case 'retag': {
            if (orders.length === 0) continue;
            const o = orders[c.order % orders.length]!;
            await db.transaction().execute(async (trx) => {
              await sql`update orders set tags = ${sql.val(c.tags)}::text[] where id = ${o.id}`.execute(trx);
              await routeOrders(trx, o.merchant, [o.id]);
            });
            o.tags = c.tags;
            break;
          }
          case 'release': {
            if (orders.length === 0) continue;
            const o = orders[c.order % orders.length]!;
            if (o.withheld === null) continue;
            await db.transaction().execute(async (trx) => {
              await sql`update orders set withheld = null where id = ${o.id}`.execute(trx);
              await routeOrders(trx, o.merchant, [o.id]);
            });
            o.withheld = null;
            break;
          }
          case 'pin': {
            if (orders.length === 0) continue;
            const o = orders[c.order % orders.length]!;
            if (o.expected.store_id === null) continue;
            await sql`update orders set served_store_id = store_id, served_at = now() where id = ${o.id}`.execute(
              db,
            );
            o.pinned = true;
            break;
          }
          case 'reevaluate': {
            // Through the re-evaluation path: the new effective and the routing in one statement,
            // per merchant (as the job does), for the orders it may still change.
            if (orders.length === 0) continue;
            const picked = new Map<number, { o: ModelOrder; tags: string[]; route: RuleRoute | null }>();
            for (const x of c.orders) {
              const o = orders[x.order % orders.length]!;
              picked.set(o.id, { o, tags: x.tags, route: routeOfRule(x.rule) });
            }
            for (const m of merchantIds) {
              const mine = [...picked.values()].filter((p) => p.o.merchant === m);
              if (mine.length === 0) continue;
              const written = await db.transaction().execute(async (trx) => {
                await lockMerchantForRouting(trx, m);
                return writeEffectiveAndRoute(
                  trx,
                  m,
                  mine.map((p) => ({
                    id: p.o.id,
                    content_hash: 'x',
                    effective: effectiveFor(p.tags, p.route),
                  })),
                  { actor_type: 'system', actor: 'rules' },
                );
              });
              const open = mine.filter((p) => !p.o.pinned && !TERMINAL.includes(p.o.status));
              const openIds = open.map((p) => p.o.id).sort((a, b) => a - b);
              if (JSON.stringify(written) !== JSON.stringify(openIds)) {
                throw new Error(
                  `re-evaluation wrote ${JSON.stringify(written)}, expected ${JSON.stringify(openIds)}`,
                );
              }
              for (const p of open) {
                p.o.tags = p.tags;
                p.o.route = p.route;
                rewritten.add(p.o.id);
              }
            }
            break;
          }
          case 'setStatus': {
            if (orders.length === 0) continue;
            const o = orders[c.order % orders.length]!;
            if (TERMINAL.includes(o.status)) continue;
            await sql`update orders set status = ${c.status} where id = ${o.id}`.execute(db);
            o.status = c.status;
            break;
          }
        }

        // The model: every order that may move is where the pure function says; the others stay.
        for (const o of orders) {
          const frozen = o.pinned || TERMINAL.includes(o.status);
          if (frozen && !fresh.has(o.id)) continue;
          if (frozen) {
            o.expected = { store_id: null, reason: null };
            continue;
          }
          const live = stores.filter((s) => s.merchant === o.merchant && !s.retired);
          o.expected = routeWith(o.order_source, o.tags, o.route, live, o.withheld);
        }

        const rows = await db
          .selectFrom('orders')
          .select(['id', 'merchant_id', 'store_id', 'routing_reason', 'served_store_id', 'last_modified'])
          .orderBy('id')
          .execute();
        if (rows.length !== orders.length)
          throw new Error(`expected ${orders.length} orders, found ${rows.length}`);
        const storeOwner = new Map(stores.map((s) => [s.id, s.merchant]));
        for (const [k, row] of rows.entries()) {
          const o = orders[k]!;
          const got = { store_id: row.store_id, reason: row.routing_reason };
          const want = { store_id: o.expected.store_id, reason: o.expected.reason };
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(
              `order ${o.id} after ${c.kind}: db ${JSON.stringify(got)} != pure ${JSON.stringify(want)}`,
            );
          }
          if (row.store_id !== null && storeOwner.get(row.store_id) !== row.merchant_id) {
            throw new Error(
              `order ${o.id} of merchant ${row.merchant_id} routed to another merchant's store`,
            );
          }
          if (o.pinned && row.served_store_id !== row.store_id) throw new Error(`pinned order ${o.id} moved`);
          if (rewritten.has(o.id) && row.last_modified.getTime() === OLD.getTime()) {
            throw new Error(`order ${o.id} re-evaluated but its last_modified did not move`);
          }
          if (!fresh.has(o.id) && !rewritten.has(o.id)) {
            const moved = before.get(o.id) !== row.store_id;
            const touched = row.last_modified.getTime() !== OLD.getTime();
            if (moved !== touched) {
              throw new Error(
                `order ${o.id} after ${c.kind}: moved=${moved} but last_modified touched=${touched}`,
              );
            }
          }
          checkedOrders++;
        }
      }
    }),
    { numRuns },
  );
  t.ok(checkedOrders > 0, `${checkedOrders} order states checked against the pure function`);
});
