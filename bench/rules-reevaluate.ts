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
 */
import { sql } from 'kysely';
import { createJobRunner } from '../src/background.js';
import { SecretHasher } from '../src/lib/secrets.js';
import { parseOrder } from '../src/orders/schema.js';
import { orderContent } from '../src/orders/content.js';
import { parseRule } from '../src/rules/model.js';
import { RulesRepository } from '../src/rules/repository.js';
import { withScratchDatabase } from './scratch.js';

const url = process.env.DATABASE_URL ?? '';
if (!url) {
  console.error('set DATABASE_URL=postgres://… (the benchmark measures PostgreSQL)');
  process.exit(2);
}
const ORDERS = Number(process.argv[2] ?? 100_000);
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n.toFixed(0)} ms`;

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

async function main() {
  await withScratchDatabase(url, 'bench_rules', 4, async (database) => {
    const db = database.db;
    const m = await db
      .insertInto('merchants')
      .values({ code: 'bench', name: 'Bench' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await sql`insert into stores (merchant_id, name, username, password_hash, order_sources, include_tags, exclude_tags)
      values (${m.id}, 'Main', 'bench-main', '\\x00', '{}', '{}', '{bench-tag}'),
             (${m.id}, 'Tagged', 'bench-tagged', '\\x00', '{}', '{bench-tag}', '{}')`.execute(db);

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

      r = await follow(() => rules.update(owner, created.value.id, { enabled: false }));
      disable.push(r.took);
      console.log(`  disable: ${r.seen} seen, ${r.changed} changed in ${ms(r.took)} (${r.status})`);

      r = await follow(() => rules.remove(owner, created.value.id));
      noop.push(r.took);
      console.log(`  delete (no-op): ${r.seen} seen, ${r.changed} changed in ${ms(r.took)} (${r.status})`);
    }
    console.log(`\nre-evaluation of ${ORDERS} open orders, median of ${RUNS}:`);
    console.log(`  a rule tags every order (all change, all re-routed): ${ms(median(tagAll))}`);
    console.log(`  the rule disabled (all change back):                 ${ms(median(disable))}`);
    console.log(`  a disabled rule deleted (nothing changes):           ${ms(median(noop))}`);
  });
}

await main();
