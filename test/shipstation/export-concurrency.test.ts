import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import t from 'tap';
import { buildTestApp, seedAccounts } from '../helpers/app.js';
import {
  exportCall,
  fmtUtc,
  listen,
  merchantId,
  parseOrders,
  type SeededStore,
  seedOrder,
  seedStore,
} from './seed.js';

/**
 * The done-when of the export: writers create, change and re-route orders continuously (with small
 * random delays inside their transactions, so commits lag their last_modified) while a simulated
 * ShipStation polls back-to-back windows per store and walks every page. At the end every order's
 * final state (its last change, marked by a version in InternalNotes) appeared in some page, no
 * order was ever served by two stores, and no walk served an order twice.
 */
const WRITE_MS = Number(process.env.CONCURRENCY_MS ?? 3000);

t.test(
  'FM1/FM4: concurrent writers and a polling ShipStation: nothing missed, never two stores',
  async (t) => {
    const { app, db } = await buildTestApp(t);
    const k = db.db;
    const s = await seedAccounts(app);
    const m = await merchantId(k, s.merchant.code);
    // Default lookback (10 minutes): it is what covers a commit that lands after its last_modified.
    const stores = [
      await seedStore(k, m, { page_size: 3, lookback_minutes: 10 }),
      await seedStore(k, m, { page_size: 3, lookback_minutes: 10 }),
    ];
    const base = await listen(app);

    const ids: number[] = [];
    for (let i = 0; i < 12; i++)
      ids.push(await seedOrder(k, m, { store: stores[i % 2]!.id, internalNotes: 'v0' }));

    const rnd = (n: number) => Math.floor(Math.random() * n);
    let writing = true;
    let versions = 0;
    let reroutes = 0;

    /** One change: lock, wait, bump the version (last_modified = the transaction's now()), wait, commit. */
    async function change(id: number) {
      await k.transaction().execute(async (trx) => {
        await sql`select id from orders where merchant_id = ${m} and id = ${id} for update`.execute(trx);
        await sleep(rnd(15));
        versions += 1;
        await sql`update orders set content = jsonb_set(content, '{internal_notes}', to_jsonb(${`v${versions}`}::text)),
        last_modified = now(), updated_at = now() where merchant_id = ${m} and id = ${id}`.execute(trx);
        await sleep(rnd(15));
      });
    }

    /** Re-routing as the routing hook does it: only unpinned, open orders; same lock; last_modified moves. */
    async function reroute(id: number) {
      await k.transaction().execute(async (trx) => {
        const { rows } = await sql<{ store_id: number; served_store_id: number | null; status: string }>`
        select store_id, served_store_id, status from orders where merchant_id = ${m} and id = ${id} for update`.execute(
          trx,
        );
        const row = rows[0]!;
        await sleep(rnd(10));
        if (row.served_store_id !== null || ['canceled', 'shipped', 'confirmed'].includes(row.status)) return;
        const to = row.store_id === stores[0]!.id ? stores[1]!.id : stores[0]!.id;
        await sql`update orders set store_id = ${to}, last_modified = now(), updated_at = now()
        where merchant_id = ${m} and id = ${id}`.execute(trx);
        reroutes += 1;
      });
    }

    async function writer() {
      while (writing) {
        const dice = rnd(10);
        if (dice < 2) {
          ids.push(await seedOrder(k, m, { store: stores[rnd(2)]!.id, internalNotes: 'v0' }));
        } else if (dice < 4) {
          await reroute(ids[rnd(ids.length)]!);
        } else {
          await change(ids[rnd(ids.length)]!);
        }
        await sleep(rnd(20));
      }
    }

    /** What ShipStation saw: per store, every (OrderID, InternalNotes) served. */
    const seen = new Map<number, Set<string>>();
    const servedBy = new Map<number, Set<number>>();
    let walks = 0;
    let pagesWalked = 0;

    async function walk(store: SeededStore, start: string, end: string) {
      walks += 1;
      let pages = 1;
      const inWalk = new Set<number>();
      for (let page = 1; page <= pages; page++) {
        const r = await exportCall(base, store, start, end, page);
        t.equal(r.status, 200);
        pagesWalked += 1;
        const parsed = parseOrders(r.body);
        pages = parsed.pages;
        for (const block of r.body.match(/<Order>[\s\S]*?<\/Order>/g) ?? []) {
          const id = Number(/<OrderID><!\[CDATA\[(\d+)\]\]>/.exec(block)?.[1]);
          const notes = /<InternalNotes><!\[CDATA\[([^\]]*)\]\]>/.exec(block)?.[1] ?? '';
          if (inWalk.has(id)) t.fail(`order ${id} served twice in one walk`);
          inWalk.add(id);
          const v = seen.get(id) ?? new Set<string>();
          v.add(notes);
          seen.set(id, v);
          const by = servedBy.get(id) ?? new Set<number>();
          by.add(store.id);
          servedBy.set(id, by);
        }
      }
    }

    /** Back-to-back windows: each starts at the minute the previous one ended. */
    async function shipstation(store: SeededStore) {
      let start = fmtUtc(new Date(Date.now() - 60_000));
      while (writing) {
        const end = fmtUtc(new Date());
        await walk(store, start, end);
        start = end;
        await sleep(rnd(30));
      }
      // One more poll after the writers stop, as the next scheduled import would.
      await walk(store, start, fmtUtc(new Date()));
    }

    // PGlite has one connection, so writers and exports take turns: less happens in the same time.
    const enough = () => versions > (db.engine === 'pglite' ? 5 : 20) && walks >= 4;
    const writers = [writer(), writer(), writer()];
    const pollers = stores.map((st) => shipstation(st));
    // The writers run for WRITE_MS and until enough has happened to prove anything: on a loaded
    // machine fewer changes fit in a fixed time, which says nothing about the export.
    const started = Date.now();
    while (Date.now() - started < WRITE_MS || !enough()) await sleep(50);
    writing = false;
    await Promise.all(writers);
    await Promise.all(pollers);

    const { rows: finals } = await sql<{
      id: number;
      notes: string;
      store_id: number;
      served_store_id: number | null;
    }>`
    select id, content->>'internal_notes' as notes, store_id, served_store_id from orders where merchant_id = ${m}`.execute(
      k,
    );
    t.ok(
      enough(),
      `${versions} changes, ${reroutes} re-routes, ${finals.length} orders, ${walks} walks, ${pagesWalked} pages`,
    );
    const missed = finals.filter((o) => !seen.get(o.id)?.has(o.notes));
    t.same(
      missed.map((o) => ({ id: o.id, final: o.notes, seen: [...(seen.get(o.id) ?? [])] })),
      [],
      "every order's final state appeared in some window",
    );
    const twice = [...servedBy.entries()].filter(([, by]) => by.size > 1);
    t.same(twice, [], 'no order was ever served by two stores');
    for (const o of finals) {
      const by = servedBy.get(o.id);
      if (by) t.equal(o.served_store_id, [...by][0], `order ${o.id} is pinned to the store that served it`);
    }
  },
);

// Needs two connections: a lock holder and the page (PGlite has one).
const pglite = !process.env.DATABASE_URL;
t.test(
  'a page that waits for an order lock serves the order as the lock holder committed it',
  { skip: pglite && 'needs two connections (PGlite has one)' },
  async (t) => {
    const { app, db } = await buildTestApp(t);
    t.equal(db.engine, 'postgres');
    const k = db.db;
    const s = await seedAccounts(app);
    const m = await merchantId(k, s.merchant.code);
    const store = await seedStore(k, m, { page_size: 10 });
    const base = await listen(app);
    const start = new Date(Date.now() - 3_600_000);
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await seedOrder(k, m, { store: store.id, lastModified: start }));
    const end = new Date(Date.now() + 120_000);
    const target = ids[1]!;

    // A writer holds the lock of the middle order while it replaces its notes and its lines, as an
    // order PUT does (orders row first, then order_lines), and commits only after the page asked.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const haveLock = new Promise<void>((r) => {
      locked = r;
    });
    const writer = k.transaction().execute(async (trx) => {
      await sql`select id from orders where merchant_id = ${m} and id = ${target} for update`.execute(trx);
      await sql`update orders set content = jsonb_set(content, '{internal_notes}', '"after"'::jsonb),
      updated_at = now() where merchant_id = ${m} and id = ${target}`.execute(trx);
      await sql`update order_lines set content = jsonb_set(content, '{name}', '"Renamed line"'::jsonb),
      name = 'Renamed line' where merchant_id = ${m} and order_id = ${target} and position = 0`.execute(trx);
      locked();
      await gate;
    });
    await haveLock;
    const page = exportCall(base, store, fmtUtc(start), fmtUtc(end), 1);
    // The page statement is now waiting for the row lock (nothing else can answer it).
    await sleep(300);
    release();
    await writer;
    const r = await page;
    t.equal(r.status, 200);
    t.same(parseOrders(r.body).ids, ids, 'the page holds every order, in order');
    const order = r.body.slice(r.body.indexOf(`<OrderID><![CDATA[${target}]]>`));
    const one = order.slice(0, order.indexOf('</Order>'));
    t.match(one, /<InternalNotes><!\[CDATA\[after\]\]><\/InternalNotes>/, 'the notes as committed');
    t.match(
      one,
      /<Name><!\[CDATA\[Renamed line\]\]><\/Name>/,
      'the lines as committed, not as before the wait',
    );
    t.match(one, /<OrderStatus><!\[CDATA\[at_wms\]\]><\/OrderStatus>/, 'and the status the page gave it');
  },
);
