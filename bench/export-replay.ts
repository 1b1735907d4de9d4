import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../src/db/database.js';
import type { Store } from '../src/db/schema.js';
import {
  createSnapshot,
  pagesOf,
  renderPage,
  servePageRows,
  type Window,
  windowOf,
} from '../src/shipstation/export.js';

/**
 * `npx tsx bench/export-replay.ts [database]` (default `shipbridge_bench_1m`): one later page of the
 * largest merchant's Main store, newest 10 000-order window (the window `npm run bench` walks), on
 * an existing bench database, WITHOUT changing it: every run takes the snapshot and serves the page
 * inside a transaction that is rolled back, so each run pins what of the page is still unpinned, as
 * a first serving would, and leaves nothing behind but dead row versions. Prints (medians): the page
 * statement in process (servePageRows: SQL, transfer, parse, row mapping), the same statement
 * replayed through plain pg, the render of its rows; then
 * EXPLAIN (ANALYZE, BUFFERS) of the page statement and where the service's CPU goes on that page
 * (a CPU profile of parse + map + render, top functions by self time; REPLAY_PROFILE=file.cpuprofile
 * keeps it; REPLAY_RENDER_ONLY=1 profiles the render of already parsed rows). REPLAY_UNPIN=1 first
 * unpins the page's orders (and makes at_wms ones new) in the explained transaction, to see a first
 * serving's pinning on a window that is already pinned; the foreign-key checks the plan then shows
 * are that update's doing (a row written earlier in the same transaction is re-checked), not the
 * page's. Env: REPLAY_PAGE (2), REPLAY_PAGE_SIZE (100), REPLAY_RUNS (15), DATABASE_URL (the server;
 * its path is replaced).
 */

const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const DB_NAME = process.argv[2] ?? 'shipbridge_bench_1m';
const PAGE = Number(process.env.REPLAY_PAGE ?? 2);
const RUNS = Number(process.env.REPLAY_RUNS ?? 15);
const PAGE_SIZE = Number(process.env.REPLAY_PAGE_SIZE ?? 100);
const url = new URL(base);
url.pathname = `/${DB_NAME}`;

class Rollback extends Error {}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const fmt = (x: number) => x.toFixed(2);
const ssDate = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
};

async function main() {
  let capture: { sql: string; parameters: readonly unknown[] }[] | undefined;
  const database = await createDatabase({
    url: url.toString(),
    poolSize: 2,
    log: (e) => {
      if (capture && e.level === 'query') capture.push({ sql: e.query.sql, parameters: e.query.parameters });
    },
  });
  const db = database.db;
  const stored = (await db
    .selectFrom('stores')
    .selectAll()
    .where('merchant_id', '=', 1)
    .where('name', '=', 'Main')
    .executeTakeFirstOrThrow()) as Store;
  // The page size the bench's later pages use, whatever the store row was left at (snapshots are
  // keyed by it, and both are only ever written inside the rolled-back transactions below).
  const store: Store = { ...stored, page_size: PAGE_SIZE };
  const { rows: b } = await sql<{ hi: Date; lo: Date | null; first: Date }>`
    select (select max(last_modified) from orders where store_id = ${store.id}) as hi,
      (select last_modified from orders where store_id = ${store.id} order by last_modified desc, id desc
       offset 9999 limit 1) as lo,
      (select min(last_modified) from orders where store_id = ${store.id}) as first`.execute(db);
  const w: Window = windowOf(store, {
    start_date: ssDate(b[0]!.lo ?? b[0]!.first),
    end_date: ssDate(b[0]!.hi),
  });
  console.log(
    `${DB_NAME}: store ${store.id} (page size ${store.page_size}, zone ${store.timezone}), window ${w.start.toISOString()} – ${w.end.toISOString()}, page ${PAGE}`,
  );

  // In process, rolled back: snapshot, page statement (with parse and mapping), render.
  const serveMs: number[] = [];
  const renderMs: number[] = [];
  let statements: { sql: string; parameters: readonly unknown[] }[] = [];
  let pages = 0;
  let orders = 0;
  for (let k = 0; k < RUNS; k++) {
    await db
      .transaction()
      .execute(async (trx) => {
        const snap = await createSnapshot(trx, store, w, 30);
        pages = pagesOf(snap.total, store.page_size);
        if (k === 0) capture = [];
        let t = performance.now();
        const served = await servePageRows(trx, store, w, PAGE, undefined);
        serveMs.push(performance.now() - t);
        if (k === 0) {
          statements = capture!;
          capture = undefined;
        }
        orders = served.rows.length;
        t = performance.now();
        renderPage(store, served.rows, pages);
        renderMs.push(performance.now() - t);
        throw new Rollback();
      })
      .catch((e) => {
        if (!(e instanceof Rollback)) throw e;
      });
  }
  const page = statements.find((s) => /^\s*with snapshot as/.test(s.sql));
  if (!page) throw new Error(`page statement not captured (${statements.length} statements)`);

  // The same statement through plain pg (json left as text: transfer without parsing), rolled back.
  const client = new pg.Client({
    connectionString: url.toString(),
    types: { getTypeParser: () => (v: string) => v },
    options: '-c jit=off',
  });
  await client.connect();
  const snapSql = await (async () => {
    capture = [];
    await db
      .transaction()
      .execute(async (trx) => {
        await createSnapshot(trx, store, w, 30);
        throw new Rollback();
      })
      .catch((e) => {
        if (!(e instanceof Rollback)) throw e;
      });
    const s = capture.find((x) => /^\s*with expired as/.test(x.sql))!;
    capture = undefined;
    return s;
  })();
  const pgMs: number[] = [];
  const parseMs: number[] = [];
  let bytes = 0;
  let json = '';
  for (let k = 0; k < RUNS; k++) {
    await client.query('begin');
    await client.query(snapSql.sql, snapSql.parameters as unknown[]);
    const t = performance.now();
    const r = await client.query(page.sql, page.parameters as unknown[]);
    pgMs.push(performance.now() - t);
    json = r.rows[0].orders as string;
    bytes = Buffer.byteLength(json);
    await client.query('rollback');
    const u = performance.now();
    JSON.parse(json);
    parseMs.push(performance.now() - u);
  }
  console.log(
    `medians of ${RUNS}: servePageRows in process ${fmt(median(serveMs))} ms; the page statement through pg ` +
      `${fmt(median(pgMs))} ms (${(bytes / 1024).toFixed(0)} kB of JSON, JSON.parse ${fmt(median(parseMs))} ms); ` +
      `render of ${orders} orders ${fmt(median(renderMs))} ms`,
  );

  await client.query('begin');
  await client.query(snapSql.sql, snapSql.parameters as unknown[]);
  if (process.env.REPLAY_UNPIN) {
    // As on a first serving: the page's orders unpinned and new again (rolled back with the rest).
    const u = await client.query(
      `update orders o set served_store_id = null, served_at = null,
         status = case when o.status = 'at_wms' then 'new' else o.status end
       from export_snapshot_orders so
       where so.snapshot_id = (select max(id) from export_snapshots where store_id = $1)
         and so.position between $2 and $3 and o.merchant_id = so.merchant_id and o.id = so.order_id`,
      [store.id, (PAGE - 1) * PAGE_SIZE + 1, PAGE * PAGE_SIZE],
    );
    console.log(`unpinned ${u.rowCount} orders of the page first (same transaction)`);
  }
  const plan = await client.query(`explain (analyze, buffers) ${page.sql}`, page.parameters as unknown[]);
  await client.query('rollback');
  console.log(plan.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n'));
  await client.query('begin');
  await client.query(snapSql.sql, snapSql.parameters as unknown[]);
  const quiet = await client.query(`explain (analyze, timing off) ${page.sql}`, page.parameters as unknown[]);
  await client.query('rollback');
  console.log(
    quiet.rows
      .map((x: Record<string, string>) => x['QUERY PLAN'] ?? '')
      .filter((l: string) => /Time|Trigger/.test(l))
      .join('\n'),
  );
  await client.end();

  // The service's CPU on this page: parse + map (as servePageRows) + render, profiled.
  const rowsFrom = () =>
    (JSON.parse(json) as Record<string, unknown>[]).map((o) => ({
      id: Number(o.id),
      order_source: o.order_source as string,
      order_number: o.order_number as string,
      status: o.status as never,
      last_modified: new Date(o.last_modified as string),
      content: o.content as never,
      effective: o.effective as never,
      lines: ((o.lines as [number, object][] | null) ?? []).map(([id, item]) => ({
        ...(item as object),
        line_item_id: id,
      })) as never,
    }));
  for (let i = 0; i < 200; i++) renderPage(store, rowsFrom(), pages);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
  const LOOPS = 400;
  const t = performance.now();
  const parsed = process.env.REPLAY_RENDER_ONLY ? rowsFrom() : undefined;
  for (let i = 0; i < LOOPS; i++) renderPage(store, parsed ?? rowsFrom(), pages);
  const per = (performance.now() - t) / LOOPS;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  if (process.env.REPLAY_PROFILE) writeFileSync(process.env.REPLAY_PROFILE, JSON.stringify(profile));
  const self = new Map<string, number>();
  const dt = new Map<number, number>();
  for (let i = 0; i < profile.samples!.length; i++) {
    const id = profile.samples![i]!;
    dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas![i] ?? 0));
  }
  let total = 0;
  for (const n of profile.nodes) {
    const us = dt.get(n.id) ?? 0;
    total += us;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  console.log(`\nparse + map + render of the page: ${fmt(per)} ms each; self time by function:`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  }
  await database.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
