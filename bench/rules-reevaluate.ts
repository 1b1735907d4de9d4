/**
 * Re-evaluation benchmark: 100 000 open, unserved orders of one merchant (1–2 lines each, an ATTN
 * line in a third of them), then rule changes that re-evaluate them all, timed from the change's
 * answer to the job's end (the job runs in this process, on the jobs runner, chunk by chunk).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/rules-reevaluate.ts [orders]
 *
 * Scenarios (each run once per RUNS, median reported):
 * - "tag all": a new rule adds a tag to every order (every order changes and is routed again);
 * - "disable": the same rule disabled (every order changes back);
 * - "no-op": a rule whose condition holds for no order (every order read and evaluated, none written).
 * Works in a scratch schema that is dropped at the end.
 *
 * Each scenario also prints the job's chunks as the query log saw them (medians over its chunks, so
 * less sensitive to a busy machine than the totals): each statement, and `js` — the rest of the
 * chunk's wall time, mostly evaluating the rules. REEVAL_EXPLAIN=1 first prints the plan
 * (`explain (analyze, buffers)`, rolled back) of one chunk's write as "tag all" runs it, with the
 * updates it made that were HOT.
 */
import { CompiledQuery, type Kysely, type LogEvent, sql } from 'kysely';
import type { DB } from '../src/db/schema.js';
import { createJobRunner } from '../src/background.js';
import { SecretHasher } from '../src/lib/secrets.js';
import { parseOrder } from '../src/orders/schema.js';
import { orderContent } from '../src/orders/content.js';
import { parseRule } from '../src/rules/model.js';
import { reevaluateOpenOrders } from '../src/orders/service.js';
import { CHUNK, chunkSettings } from '../src/rules/reevaluate-job.js';
import { RulesRepository } from '../src/rules/repository.js';
import { lockMerchantForRouting } from '../src/stores/assign.js';
import { benchDatabaseUrl, insertMerchant, insertStore, median, withScratchDatabase } from './scratch.js';
import type { Database } from '../src/db/database.js';

const url = benchDatabaseUrl();
const ORDERS = Number(process.argv[2] ?? 100_000);
const RUNS = 3;

const ms = (n: number) => `${n.toFixed(0)} ms`;

/** The statements of a chunk's transaction, by what they do (the first match names a statement). */
const STEPS: [string, RegExp][] = [
  ['begin', /^begin/i],
  ['settings', /shipbridge\.no_webhooks/],
  ['routing lock', /^select 1 from merchants where id = \$1 and true for share/],
  ['rules', /select m\.normalise_addresses/],
  ['read', /select o\.id, o\.content_hash, o\.content, o\.effective/],
  ['write', /^\s*with input as materialized/],
  ['hold alerts', /with held as materialized/],
  ['excluded lines', /update order_lines l set excluded/],
  ['progress', /^update "jobs" set "payload"/],
  ['commit', /^commit/i],
];
const stepOf = (text: string) => STEPS.find(([, re]) => re.test(text))?.[0] ?? 'other';

/** The query log of the pool: each statement's step, end and duration. */
class ChunkLog {
  private events: { step: string; end: number; took: number }[] = [];
  /** The next 'write' statement, once asked for (REEVAL_EXPLAIN). */
  capture: ((q: CompiledQuery) => void) | undefined;
  readonly log = (e: LogEvent) => {
    const step = stepOf(e.query.sql);
    if (step === 'write' && this.capture) {
      this.capture(e.query);
      this.capture = undefined;
    }
    this.events.push({ step, end: performance.now(), took: e.queryDurationMillis });
  };
  clear() {
    this.events = [];
  }
  /** Per chunk (a transaction that read orders): each step's time, and js = wall time less statements. */
  chunks(): Map<string, number>[] {
    const out: Map<string, number>[] = [];
    let cur: Map<string, number> | undefined;
    let began = 0;
    for (const e of this.events) {
      if (e.step === 'begin') {
        cur = new Map();
        began = e.end - e.took;
      }
      if (!cur) continue;
      cur.set(e.step, (cur.get(e.step) ?? 0) + e.took);
      if (e.step === 'commit') {
        if (cur.has('read')) {
          const wall = e.end - began;
          let statements = 0;
          for (const v of cur.values()) statements += v;
          cur.set('js', wall - statements);
          cur.set('chunk', wall);
          out.push(cur);
        }
        cur = undefined;
      }
    }
    return out;
  }
  /** One line: the median of each step over the chunks logged since clear(). */
  summary(): string {
    const chunks = this.chunks();
    const steps = [...STEPS.map(([name]) => name), 'other', 'js', 'chunk'];
    const parts = steps
      .map((name) => {
        const xs = chunks.map((c) => c.get(name) ?? 0);
        return xs.some((x) => x > 0) ? `${name} ${median(xs).toFixed(1)}` : null;
      })
      .filter((x) => x !== null);
    return `${chunks.length} chunks, median ms: ${parts.join(', ')}`;
  }
}

function template() {
  const r = parseOrder(
    {
      order_number: 'T',
      order_date: '2026-11-22T10:15:00Z',
      shipping_method: 'Standard',
      tags: ['web'],
      ship_to: {
        name: 'Ann Buyer',
        street1: '1 Main St',
        city: 'Springfield',
        state: 'IL',
        postal_code: '62701',
        country: 'US',
      },
      items: [
        {
          line_id: 'L1',
          sku: 'SKU-1',
          name: 'Widget',
          quantity: 2,
          unit_price: '10.25',
          weight: 4,
          weight_unit: 'oz',
        },
        { line_id: 'L2', sku: 'SKU-2', name: 'Gadget', quantity: 1, unit_price: 5 },
      ],
    },
    'create',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.value.order;
}

const chunkLog = new ChunkLog();

async function main() {
  await withScratchDatabase(url, 'bench_rules', 4, scenarios, { log: chunkLog.log });
}

async function scenarios(database: Database): Promise<void> {
  {
    const db = database.db;
    const m = { id: await insertMerchant(db) };
    await insertStore(db, m.id, { name: 'Main', username: 'bench-main', excludeTags: ['bench-tag'] });
    await insertStore(db, m.id, { name: 'Tagged', username: 'bench-tagged', includeTags: ['bench-tag'] });

    const o = template();
    const content = JSON.stringify(orderContent(o));
    const [l1, l2] = o.items.map((it) => JSON.stringify(it));
    let t0 = performance.now();
    await sql`
      with ins as (
        insert into orders (merchant_id, order_source, order_number, status, order_date, tags, order_total,
          content, content_hash, routing_reason)
        select ${m.id}, 'api', 'B-' || i,
          (array['new', 'new', 'await_payment', 'on_hold'])[1 + i % 4],
          '2026-11-22T10:15:00Z', '{web}', 25.50,
          ${content}::jsonb || jsonb_build_object('order_number', 'B-' || i,
            'shipping_method', (array['Standard', 'Express', 'Pigeon'])[1 + i % 3],
            'ship_to', (${content}::jsonb -> 'ship_to') || case when i % 3 = 0
              then jsonb_build_object('street1', 'ATTN: Dock ' || i, 'street2', '1 Main St') else '{}'::jsonb end),
          'h' || i, 'not routed yet'
        from generate_series(1, ${ORDERS}) as g(i)
        returning id
      )
      insert into order_lines (merchant_id, order_id, position, line_id, sku, name, quantity, unit_price, content)
      select ${m.id}, ins.id, p.pos, p.it ->> 'line_id', p.it ->> 'sku', p.it ->> 'name',
        (p.it ->> 'quantity')::int, (p.it ->> 'unit_price')::numeric, p.it
      from ins
      cross join lateral (
        select 0 as pos, ${l1}::jsonb as it
        union all select 1, ${l2}::jsonb where ins.id % 2 = 0
      ) p
    `.execute(db);
    await sql`analyze orders`.execute(db);
    await sql`analyze order_lines`.execute(db);
    console.log(`seeded ${ORDERS} open orders in ${ms(performance.now() - t0)}`);

    const rules = new RulesRepository(db);
    const runner = createJobRunner(
      db,
      { webhookAllowPrivate: false },
      new SecretHasher('bench-secret-0123456789abcdef0123456789').box,
      undefined,
    );
    const owner = { kind: 'merchant' as const, id: m.id };
    const valid = (body: Record<string, unknown>) => {
      const r = parseRule(body, 'merchant');
      if (!r.ok) throw new Error(JSON.stringify(r.details));
      return r.value;
    };
    /** Runs the job a change enqueued; answers its duration and counts. */
    const follow = async (change: () => Promise<{ reevaluation: { id: number } }>) => {
      const started = performance.now();
      const { reevaluation } = await change();
      await runner.runDue(10_000);
      const took = performance.now() - started;
      const job = await db
        .selectFrom('jobs')
        .select(['status', 'payload'])
        .where('id', '=', reevaluation.id)
        .executeTakeFirstOrThrow();
      const p = job.payload as { seen: number; changed: number };
      return { took, status: job.status, seen: p.seen, changed: p.changed };
    };

    // The first evaluation of every order (normalisation: the ATTN lines change).
    let r = await follow(() =>
      rules.create(
        owner,
        valid({
          name: 'first',
          when: [{ field: 'order_number', op: 'equals', value: 'none' }],
          then: [{ type: 'add_tags', tags: ['x'] }],
        }),
      ),
    );
    console.log(`first evaluation: ${r.seen} seen, ${r.changed} changed in ${ms(r.took)} (${r.status})`);

    const tagAll: number[] = [];
    const disable: number[] = [];
    const noop: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const created = await rules.create(
        owner,
        valid({ name: `tag ${run}`, then: [{ type: 'add_tags', tags: ['bench-tag'] }] }),
      );
      if (run === 0 && process.env.REEVAL_EXPLAIN === '1') await explainWrite(db, m.id);
      chunkLog.clear();
      t0 = performance.now();
      await runner.runDue(10_000);
      r = { ...r, took: performance.now() - t0 };
      const job1 = await db
        .selectFrom('jobs')
        .select(['status', 'payload'])
        .where('id', '=', created.reevaluation.id)
        .executeTakeFirstOrThrow();
      const p1 = job1.payload as { seen: number; changed: number };
      tagAll.push(r.took);
      console.log(`  tag all: ${p1.seen} seen, ${p1.changed} changed in ${ms(r.took)} (${job1.status})`);
      console.log(`    ${chunkLog.summary()}`);

      chunkLog.clear();
      r = await follow(() => rules.update(owner, created.value.id, { enabled: false }));
      disable.push(r.took);
      console.log(`  disable: ${r.seen} seen, ${r.changed} changed in ${ms(r.took)} (${r.status})`);
      console.log(`    ${chunkLog.summary()}`);

      chunkLog.clear();
      r = await follow(() => rules.remove(owner, created.value.id));
      noop.push(r.took);
      console.log(`  delete (no-op): ${r.seen} seen, ${r.changed} changed in ${ms(r.took)} (${r.status})`);
      console.log(`    ${chunkLog.summary()}`);
    }
    console.log(`\nre-evaluation of ${ORDERS} open orders, median of ${RUNS}:`);
    console.log(`  a rule tags every order (all change, all re-routed): ${ms(median(tagAll))}`);
    console.log(`  the rule disabled (all change back):                 ${ms(median(disable))}`);
    console.log(`  a disabled rule deleted (nothing changes):           ${ms(median(noop))}`);
  }
}

class Rollback extends Error {}
async function rolledBack(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<void>): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      await fn(trx);
      throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
}

/**
 * Prints the plan of one chunk's write as the job about to run will do it (a chunk from the middle
 * of the merchant's orders), with how many of its updates were HOT; rolled back, so the job then
 * finds every order as it was.
 */
async function explainWrite(db: Kysely<DB>, merchantId: number): Promise<void> {
  const { rows } = await sql<{ after: number }>`
    select id as after from orders where merchant_id = ${merchantId} order by id offset ${Math.floor(ORDERS / 2)} limit 1
  `.execute(db);
  const after = Number(rows[0]?.after ?? 0);
  let write: CompiledQuery | undefined;
  await rolledBack(db, async (trx) => {
    await chunkSettings(trx);
    chunkLog.capture = (q) => {
      write = q;
    };
    await reevaluateOpenOrders(trx, merchantId, after, CHUNK);
    chunkLog.capture = undefined;
  });
  const w = write;
  if (!w) throw new Error('no write statement was logged');
  await rolledBack(db, async (trx) => {
    await chunkSettings(trx);
    await lockMerchantForRouting(trx, merchantId);
    const plan = await trx.executeQuery<{ 'QUERY PLAN': string }>(
      CompiledQuery.raw(`explain (analyze, buffers, verbose) ${w.sql}`, [...w.parameters]),
    );
    // (Lines cut at 200 characters: the input's JSON would fill pages.)
    console.log(plan.rows.map((x) => x['QUERY PLAN'].slice(0, 200)).join('\n'));
    const stats = await sql<{ relname: string; upd: number; hot: number; ins: number }>`
      select relname, pg_stat_get_xact_tuples_updated(oid)::int as upd,
        pg_stat_get_xact_tuples_hot_updated(oid)::int as hot,
        pg_stat_get_xact_tuples_inserted(oid)::int as ins
      from pg_class where relname in ('orders', 'order_events') and relnamespace = current_schema()::regnamespace
    `.execute(trx);
    console.log('in that transaction:', JSON.stringify(stats.rows));
  });
}

await main();
