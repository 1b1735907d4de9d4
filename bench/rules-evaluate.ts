/**
 * Rules evaluation benchmark (the CPU half of re-evaluation): 100 000 normalised orders through a
 * rule set of 20 merchant and 5 warehouse rules (maps, defaults, tags, exclusions, holds), with
 * address normalisation on. Pure: no database. The database half (reading content + lines, writing
 * effective and re-routing in chunks of ~1 000) is measured by bench/reroute.ts for routing.
 *
 *   npx tsx bench/rules-evaluate.ts [orders]
 */
import { parseOrder } from '../src/orders/schema.js';
import type { NormalizedOrder } from '../src/orders/types.js';
import { evaluate, type RuleSet } from '../src/rules/evaluate.js';
import { parseRule, type Rule, type RuleOwner } from '../src/rules/model.js';

const ORDERS = Number(process.argv[2] ?? 100_000);
const RUNS = 3;

let id = 1;
function rule(owner: RuleOwner, body: Record<string, unknown>): Rule {
  const r = parseRule({ name: `r${id}`, ...body }, owner);
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  const n = id++;
  return { ...r.value, id: n, owner, position: n };
}

const merchant: Rule[] = [
  rule('merchant', { then: [{ type: 'default', field: 'shipping_method', value: 'USPS Priority' }] }),
  rule('merchant', {
    then: [
      {
        type: 'map_shipping_method',
        unmapped: 'hold',
        map: { Standard: 'UPS Ground', Express: 'UPS Next Day Air', 'USPS Priority': 'USPS Priority' },
      },
    ],
  }),
  ...Array.from({ length: 18 }, (_, i) =>
    rule('merchant', {
      when: [
        { field: i % 2 ? 'order_total' : 'total_quantity', op: 'gte', value: i % 2 ? '50' : 3 },
        { field: 'items.sku', op: 'starts_with', value: `SKU-${i}`, ignore_case: true },
      ],
      then: [{ type: 'add_tags', tags: [`T${i}`] }],
    }),
  ),
];
const warehouse: Rule[] = Array.from({ length: 5 }, (_, i) =>
  rule('warehouse', {
    when: [{ field: 'ship_to.country', op: 'not_in', value: ['US', 'CA'] }],
    then: [{ type: i === 0 ? 'hold' : 'remove_tags', ...(i === 0 ? {} : { tags: [`T${i}`] }) }],
  }),
);
const rules: RuleSet = { merchant, warehouse };

function order(n: number): NormalizedOrder {
  const r = parseOrder(
    {
      order_number: `B-${n}`,
      order_date: '2026-11-22T10:15:00Z',
      shipping_method: ['Standard', 'Express', null, 'Pigeon'][n % 4],
      tags: ['web'],
      ship_to: {
        name: 'Ann Buyer',
        street1: n % 3 ? '1 Main St' : 'ATTN:  Dock 4',
        street2: n % 3 ? null : '1 Main St',
        city: 'Springfield',
        state: 'IL',
        country: 'US',
      },
      items: Array.from({ length: 1 + (n % 4) }, (_, i) => ({
        sku: `SKU-${(n + i) % 20}`,
        name: 'Item',
        quantity: 1 + (i % 3),
        unit_price: '12.50',
        weight: '0.5',
        weight_unit: 'lb',
      })),
    },
    'create',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.value.order;
}

const orders = Array.from({ length: ORDERS }, (_, i) => order(i));
const times: number[] = [];
let changed = 0;
for (let run = 0; run < RUNS; run++) {
  // CPU time of this process, not wall time: the shared machine's load must not count.
  const t0 = process.cpuUsage();
  changed = 0;
  for (const o of orders) if (evaluate(o, rules, { normaliseAddresses: true }).changes.length > 0) changed++;
  const used = process.cpuUsage(t0);
  times.push((used.user + used.system) / 1000);
}
const median = [...times].sort((a, b) => a - b)[1]!;
console.log(
  `${ORDERS} orders × ${merchant.length + warehouse.length} rules: median ${median.toFixed(0)} ms CPU ` +
    `(${((median * 1000) / ORDERS).toFixed(1)} µs per order), ${changed} changed`,
);
