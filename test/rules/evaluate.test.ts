import t from 'tap';
import { disposition, evaluate, type RuleSet } from '../../src/rules/evaluate.js';
import type { Rule } from '../../src/rules/model.js';
import { order, rule } from './helpers.js';

const run = (o: ReturnType<typeof order>, merchant: Rule[], warehouse: Rule[] = [], normalise = false) =>
  evaluate(o, { merchant, warehouse } satisfies RuleSet, { normaliseAddresses: normalise });

/** Does a single condition hold on the order? */
const when = (cond: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  run(order(over), [
    rule({ when: [cond], then: [{ type: 'add_tags', tags: ['HIT'] }] }),
  ]).fields.tags.includes('HIT');

t.test('text operators, with and without ignore_case, on a missing value', async (t) => {
  const f = 'shipping_method';
  t.equal(when({ field: f, op: 'equals', value: 'Ground' }), true);
  t.equal(when({ field: f, op: 'equals', value: 'ground' }), false);
  t.equal(when({ field: f, op: 'equals', value: 'ground', ignore_case: true }), true);
  t.equal(when({ field: f, op: 'not_equals', value: 'Ground' }), false);
  t.equal(when({ field: f, op: 'not_equals', value: 'Air' }), true);
  t.equal(when({ field: f, op: 'not_equals', value: 'x' }, { shipping_method: null }), true, 'missing ≠ x');
  t.equal(when({ field: f, op: 'in', value: ['Air', 'Ground'] }), true);
  t.equal(when({ field: f, op: 'in', value: ['Air', 'GROUND'] }), false);
  t.equal(when({ field: f, op: 'in', value: ['GROUND'], ignore_case: true }), true);
  t.equal(when({ field: f, op: 'not_in', value: ['Air'] }), true);
  t.equal(when({ field: f, op: 'not_in', value: ['Ground'] }), false);
  t.equal(when({ field: f, op: 'contains', value: 'roun' }), true);
  t.equal(when({ field: f, op: 'contains', value: 'ROUN' }), false);
  t.equal(when({ field: f, op: 'contains', value: 'ROUN', ignore_case: true }), true);
  t.equal(when({ field: f, op: 'starts_with', value: 'Gr' }), true);
  t.equal(when({ field: f, op: 'starts_with', value: 'ro' }), false);
  t.equal(when({ field: f, op: 'ends_with', value: 'und' }), true);
  t.equal(when({ field: f, op: 'ends_with', value: 'Gro' }), false);
  t.equal(when({ field: f, op: 'exists' }), true);
  t.equal(when({ field: f, op: 'exists' }, { shipping_method: null }), false);
  t.equal(when({ field: f, op: 'missing' }, { shipping_method: null }), true);
  t.equal(when({ field: f, op: 'contains', value: 'x' }, { shipping_method: null }), false);
});

t.test('every kind of text field reads its own value', async (t) => {
  t.equal(when({ field: 'order_source', op: 'equals', value: 'api' }), true);
  t.equal(when({ field: 'order_number', op: 'equals', value: 'SO-1' }), true);
  t.equal(when({ field: 'customer.code', op: 'equals', value: 'C-1' }), true);
  t.equal(when({ field: 'customer.email', op: 'ends_with', value: '@example.com' }), true);
  t.equal(when({ field: 'ship_to.state', op: 'equals', value: 'IL' }), true, 'after base normalisation');
  t.equal(when({ field: 'ship_to.company', op: 'missing' }), true);
  t.equal(when({ field: 'bill_to.country', op: 'missing' }), true);
  t.equal(when({ field: 'payment_method', op: 'equals', value: 'card' }, { payment_method: 'card' }), true);
  t.equal(when({ field: 'requested_warehouse', op: 'exists' }, { requested_warehouse: 'W1' }), true);
  t.equal(when({ field: 'custom_fields[1]', op: 'equals', value: 'b' }, { custom_fields: ['a', 'b'] }), true);
  t.equal(when({ field: 'custom_fields[2]', op: 'missing' }, { custom_fields: ['a', 'b'] }), true);
  t.equal(when({ field: 'custom_fields[0]', op: 'missing' }, { custom_fields: [''] }), true, "'' is missing");
});

t.test('tags: has_tag, lacks_tag, exists, missing', async (t) => {
  t.equal(when({ field: 'tags', op: 'has_tag', value: 'vip' }), true);
  t.equal(when({ field: 'tags', op: 'has_tag', value: 'VIP' }), false, 'exact by default');
  t.equal(when({ field: 'tags', op: 'has_tag', value: 'VIP', ignore_case: true }), true);
  t.equal(when({ field: 'tags', op: 'lacks_tag', value: 'vip' }), false);
  t.equal(when({ field: 'tags', op: 'lacks_tag', value: 'B2B' }), true);
  t.equal(when({ field: 'tags', op: 'exists' }), true);
  t.equal(when({ field: 'tags', op: 'missing' }), false);
  t.equal(when({ field: 'tags', op: 'missing' }, { tags: [] }), true);
});

t.test('items.sku: positive operators need some line, negated ones no line', async (t) => {
  t.equal(when({ field: 'items.sku', op: 'equals', value: 'SKU-2' }), true);
  t.equal(when({ field: 'items.sku', op: 'equals', value: 'SKU-9' }), false);
  t.equal(when({ field: 'items.sku', op: 'not_equals', value: 'SKU-2' }), false, 'a line has it');
  t.equal(when({ field: 'items.sku', op: 'not_equals', value: 'SKU-9' }), true);
  t.equal(when({ field: 'items.sku', op: 'in', value: ['X', 'SKU-1'] }), true);
  t.equal(when({ field: 'items.sku', op: 'not_in', value: ['X', 'SKU-1'] }), false);
  t.equal(when({ field: 'items.sku', op: 'not_in', value: ['X'] }), true);
  t.equal(when({ field: 'items.sku', op: 'contains', value: 'KU-' }), true);
  t.equal(when({ field: 'items.sku', op: 'starts_with', value: 'sku', ignore_case: true }), true);
  t.equal(when({ field: 'items.sku', op: 'ends_with', value: '-2' }), true);
  const adj = {
    items: [
      { sku: 'SKU-1', name: 'W', quantity: 1, unit_price: 1 },
      { sku: 'COUPON', name: 'C', quantity: 1, unit_price: -1, adjustment: true },
    ],
  };
  t.equal(
    when({ field: 'items.sku', op: 'equals', value: 'COUPON' }, adj),
    false,
    'adjustments do not count',
  );
});

t.test('gift, money, counts and weight compare exactly', async (t) => {
  t.equal(when({ field: 'gift', op: 'equals', value: false }), true);
  t.equal(when({ field: 'gift', op: 'equals', value: true }, { gift: true }), true);
  t.equal(when({ field: 'gift', op: 'not_equals', value: true }), true);
  // order_total = 2 × 10.25 + 5 + 1.50 + 4 = 31.00
  t.equal(when({ field: 'order_total', op: 'equals', value: '31' }), true);
  t.equal(when({ field: 'order_total', op: 'equals', value: 31.0 }), true);
  t.equal(when({ field: 'order_total', op: 'not_equals', value: '31.01' }), true);
  t.equal(when({ field: 'order_total', op: 'gt', value: '30.99' }), true);
  t.equal(when({ field: 'order_total', op: 'gt', value: '31' }), false);
  t.equal(when({ field: 'order_total', op: 'gte', value: '31' }), true);
  t.equal(when({ field: 'order_total', op: 'lt', value: '31.01' }), true);
  t.equal(when({ field: 'order_total', op: 'lt', value: '31' }), false);
  t.equal(when({ field: 'order_total', op: 'lte', value: '31.00' }), true);
  t.equal(when({ field: 'amount_paid', op: 'missing' }), true);
  t.equal(when({ field: 'amount_paid', op: 'exists' }, { amount_paid: '0.1' }), true);
  t.equal(when({ field: 'amount_paid', op: 'equals', value: 0.3 }, { amount_paid: '0.30' }), true);
  t.equal(when({ field: 'amount_paid', op: 'gt', value: 0 }), false, 'a missing amount is not > 0');
  t.equal(when({ field: 'item_count', op: 'equals', value: 2 }), true);
  t.equal(when({ field: 'item_count', op: 'gt', value: 2 }), false);
  t.equal(when({ field: 'total_quantity', op: 'equals', value: 3 }), true);
  t.equal(when({ field: 'total_quantity', op: 'gte', value: 3 }), true);
  t.equal(when({ field: 'total_quantity', op: 'lt', value: 3 }), false);
  t.equal(when({ field: 'total_quantity', op: 'lte', value: 3 }), true);
  t.equal(when({ field: 'total_quantity', op: 'not_equals', value: 3 }), false);
  // 2 × 4 oz = 226.796185 g exactly
  t.equal(when({ field: 'total_weight_grams', op: 'gt', value: '226.79' }), true);
  t.equal(when({ field: 'total_weight_grams', op: 'lt', value: '226.80' }), true);
  t.equal(when({ field: 'total_weight_grams', op: 'equals', value: '226.80' }), false, 'no rounding');
  t.equal(when({ field: 'total_weight_grams', op: 'exists' }), true);
  const kg = {
    items: [{ sku: 'A', name: 'A', quantity: 3, unit_price: 1, weight: '0.5', weight_unit: 'kg' }],
  };
  t.equal(when({ field: 'total_weight_grams', op: 'equals', value: 1500 }, kg), true);
  t.equal(when({ field: 'total_weight_grams', op: 'gte', value: 1500 }, kg), true);
  t.equal(when({ field: 'total_weight_grams', op: 'lte', value: '1499.99' }, kg), false);
  t.equal(when({ field: 'total_weight_grams', op: 'not_equals', value: 1500 }, kg), false);
  const none = { items: [{ sku: 'A', name: 'A', quantity: 1, unit_price: 1 }] };
  t.equal(when({ field: 'total_weight_grams', op: 'missing' }, none), true);
  t.equal(when({ field: 'total_weight_grams', op: 'gt', value: 0 }, none), false);
});

t.test('an empty when always holds; all conditions must hold', async (t) => {
  const r = run(order(), [
    rule({ then: [{ type: 'add_tags', tags: ['A'] }] }),
    rule({
      when: [
        { field: 'tags', op: 'has_tag', value: 'vip' },
        { field: 'gift', op: 'equals', value: true },
      ],
      then: [{ type: 'add_tags', tags: ['B'] }],
    }),
  ]);
  t.same(r.fields.tags, ['vip', 'A']);
  t.equal(r.applied.length, 1);
});

t.test('set, default, set to null, custom_fields padding', async (t) => {
  const r = run(order({ payment_method: 'card' }), [
    rule({
      then: [
        { type: 'set', field: 'shipping_method', value: 'UPS Ground' },
        { type: 'default', field: 'requested_warehouse', value: 'EAST' },
        { type: 'default', field: 'payment_method', value: 'cash' },
        { type: 'set', field: 'custom_fields[2]', value: 'c3' },
        { type: 'set', field: 'internal_notes', value: 'check' },
      ],
    }),
  ]);
  t.equal(r.fields.shipping_method, 'UPS Ground');
  t.equal(r.fields.requested_warehouse, 'EAST');
  t.equal(r.fields.payment_method, 'card', 'default only fills a missing value');
  t.same(r.fields.custom_fields, ['', '', 'c3']);
  t.equal(r.fields.internal_notes, 'check');
  t.same(
    r.changes.map((c) => c.path),
    ['shipping_method', 'requested_warehouse', 'internal_notes', 'custom_fields[2]'],
  );
  t.same(r.changes[0], { path: 'shipping_method', from: 'Ground', to: 'UPS Ground' });
  const cleared = run(order(), [rule({ then: [{ type: 'set', field: 'shipping_method', value: null }] })]);
  t.equal(cleared.fields.shipping_method, null);
});

t.test('map_shipping_method: mapped, target, keep, hold, default', async (t) => {
  const map = { Ground: 'UPS Ground', Air: 'UPS Next Day Air' };
  const m = (unmapped: unknown, method: string | null) =>
    run(order({ shipping_method: method }), [
      rule({ then: [{ type: 'map_shipping_method', map, ...(unmapped ? { unmapped } : {}) }] }),
    ]);
  t.equal(m('hold', 'Ground').fields.shipping_method, 'UPS Ground');
  t.same(m('hold', 'Ground').holds, []);
  t.same(m('hold', 'UPS Ground').holds, [], 'a target counts as mapped');
  t.equal(m(undefined, 'Boat').fields.shipping_method, 'Boat', 'keep is the default');
  t.equal(m('keep', 'Boat').fields.shipping_method, 'Boat');
  const held = m('hold', 'Boat');
  t.equal(held.holds.length, 1);
  t.equal(held.holds[0]!.kind, 'unmapped_shipping_method');
  t.match(held.holds[0]!.reason, /'Boat' is not mapped/);
  t.equal(m('hold', null).holds[0]!.reason, 'no shipping method to map');
  t.equal(m({ default: 'USPS Priority' }, 'Boat').fields.shipping_method, 'USPS Priority');
  t.equal(m({ default: 'USPS Priority' }, null).fields.shipping_method, 'USPS Priority');
});

t.test('add_tags and remove_tags; routing sees the effective tags', async (t) => {
  const r = run(order({ tags: ['a', 'b'] }), [
    rule({ then: [{ type: 'add_tags', tags: ['c', 'a'] }] }),
    rule({ then: [{ type: 'remove_tags', tags: ['a', 'zz'] }] }),
  ]);
  t.same(r.fields.tags, ['b', 'c']);
  t.same(r.changes, [{ path: 'tags', from: ['a', 'b'], to: ['b', 'c'] }]);
});

t.test('route_to_store, skip, hold, set_status and the disposition they make', async (t) => {
  const o = order();
  const route = rule({ then: [{ type: 'route_to_store', store_id: 7 }] });
  const r1 = run(o, [route]);
  t.same(disposition(o, r1), {
    kind: 'store',
    store_id: 7,
    rule: { id: route.id, name: route.name, owner: 'merchant' },
  });
  const skip = rule({ then: [{ type: 'skip', reason: 'samples' }] });
  const r2 = run(o, [route, skip]);
  t.same(disposition(o, r2), {
    kind: 'skipped',
    reason: `skipped by merchant rule ${skip.id} '${skip.name}': samples`,
  });
  const hold = rule({ then: [{ type: 'hold', reason: 'fraud check' }] });
  const r3 = run(o, [route, skip, hold]);
  t.equal(r3.holds[0]!.rule.id, hold.id, 'each hold records its rule');
  t.same(disposition(o, r3), {
    kind: 'held',
    reason: `held by merchant rule ${hold.id} '${hold.name}': fraud check`,
  });
  const status = run(o, [rule({ then: [{ type: 'set_status', status: 'await_payment' }] })]);
  t.equal(status.set_status?.status, 'await_payment');
  t.same(disposition(o, run(o, [])), { kind: 'filters' });
});

t.test('exclude_items: lines by SKU, counts follow, all excluded is skipped', async (t) => {
  const o = order();
  const r = run(o, [
    rule({ then: [{ type: 'exclude_items', skus: ['SKU-2'] }] }),
    rule({
      when: [{ field: 'item_count', op: 'equals', value: 1 }],
      then: [{ type: 'add_tags', tags: ['ONE'] }],
    }),
  ]);
  t.same(r.fields.excluded, [1]);
  t.ok(r.fields.tags.includes('ONE'), 'later conditions no longer count the excluded line');
  t.same(r.changes.at(-1), { path: 'items[1].excluded', from: false, to: true });
  t.same(disposition(o, r), { kind: 'filters' });
  const all = run(o, [rule({ then: [{ type: 'exclude_items', skus: ['SKU-1', 'SKU-2'] }] })]);
  t.same(disposition(o, all), { kind: 'skipped', reason: 'skipped: rules excluded every line' });
});

t.test(
  'order of rules: positions, disabled, stop per owner, merchant before warehouse, later wins',
  async (t) => {
    const o = order();
    const set = (
      v: string,
      extra: Record<string, unknown> = {},
      owner: 'merchant' | 'warehouse' = 'merchant',
      pos?: number,
    ) => rule({ then: [{ type: 'set', field: 'shipping_method', value: v }], ...extra }, owner, pos);
    t.equal(run(o, [set('B', {}, 'merchant', 2), set('A', {}, 'merchant', 1)]).fields.shipping_method, 'B');
    t.equal(
      run(o, [set('A', {}, 'merchant', 1), set('B', { enabled: false }, 'merchant', 2)]).fields
        .shipping_method,
      'A',
    );
    const r = run(
      o,
      [set('A', { stop: true }, 'merchant', 1), set('B', {}, 'merchant', 2)],
      [set('W', {}, 'warehouse', 1)],
    );
    t.equal(
      r.fields.shipping_method,
      'W',
      'stop ends only the merchant list; the warehouse has the last word',
    );
    t.same(
      r.applied.map((a) => a.owner),
      ['merchant', 'warehouse'],
    );
    const w = run(o, [], [set('W1', { stop: true }, 'warehouse', 1), set('W2', {}, 'warehouse', 2)]);
    t.equal(w.fields.shipping_method, 'W1');
    // A stop whose conditions do not hold stops nothing.
    const s = run(o, [
      set('A', { stop: true, when: [{ field: 'gift', op: 'equals', value: true }] }, 'merchant', 1),
      set('B', {}, 'merchant', 2),
    ]);
    t.equal(s.fields.shipping_method, 'B');
    // Conditions see earlier rules' output.
    const chain = run(o, [
      set('X', {}, 'merchant', 1),
      rule(
        {
          when: [{ field: 'shipping_method', op: 'equals', value: 'X' }],
          then: [{ type: 'add_tags', tags: ['SAW-X'] }],
        },
        'merchant',
        2,
      ),
    ]);
    t.ok(chain.fields.tags.includes('SAW-X'));
  },
);

t.test('address normalisation goes to effective only, and shows as changes', async (t) => {
  const o = order({
    ship_to: {
      name: 'Ann  Buyer',
      street1: 'ATTN: Receiving Dock',
      street2: '1 Main St',
      city: 'Springfield',
      state: 'IL',
      country: 'US',
    },
  });
  const r = run(o, [], [], true);
  t.equal(r.fields.ship_to.name, 'Ann Buyer');
  t.equal(r.fields.ship_to.company, 'Receiving Dock');
  t.equal(r.fields.ship_to.street1, '1 Main St');
  t.equal(r.fields.ship_to.street2, null);
  t.equal(o.ship_to.street1, 'ATTN: Receiving Dock', 'the sent order is untouched');
  t.same(
    r.changes.map((c) => c.path),
    ['ship_to.name', 'ship_to.company', 'ship_to.street1', 'ship_to.street2'],
  );
  t.same(run(o, [], [], false).changes, [], 'off: nothing changes');
});
