import fc from 'fast-check';
import t from 'tap';
import { storedEffective } from '../../src/rules/effective.js';
import { evaluate, type RuleSet, rulesReadLines, withEffective } from '../../src/rules/evaluate.js';
import type { Rule } from '../../src/rules/model.js';
import { order, rule } from './helpers.js';

const RUNS = 300;

const method = fc.constantFrom('Ground', 'Air', 'UPS Ground', 'Boat', 'Std');
const tag = fc.constantFrom('vip', 'B2B', 'HOLD', 'gift', 'x');
const sku = fc.constantFrom('SKU-1', 'SKU-2', 'SKU-3');

const anOrder = fc
  .record({
    shipping_method: fc.option(method, { nil: null }),
    payment_method: fc.option(fc.constantFrom('card', 'cash'), { nil: null }),
    tags: fc.uniqueArray(tag, { maxLength: 4 }),
    custom_fields: fc.array(fc.constantFrom('', 'a', 'b'), { maxLength: 3 }),
    gift: fc.boolean(),
    order_source: fc.constantFrom('api', 'shopify', 'amazon'),
    street1: fc.constantFrom('1 Main St', 'ATTN: Dock', 'c/o Acme', '  2  High St '),
    street2: fc.option(fc.constantFrom('Unit 4', 'Attn Jo', ''), { nil: null }),
    skus: fc.array(sku, { minLength: 1, maxLength: 3 }),
  })
  .map((o) =>
    order({
      shipping_method: o.shipping_method,
      payment_method: o.payment_method,
      tags: o.tags,
      custom_fields: o.custom_fields,
      gift: o.gift,
      order_source: o.order_source,
      ship_to: {
        name: 'Ann',
        street1: o.street1,
        street2: o.street2,
        city: 'Springfield',
        state: 'IL',
        country: 'US',
      },
      items: o.skus.map((s, i) => ({ sku: s, name: `n${i}`, quantity: i + 1, unit_price: 2 })),
    }),
  );

/** Conditions over fields no action writes (see the README on when re-applying is a no-op). */
const readOnlyCondition = fc.oneof(
  fc.record({
    field: fc.constant('order_source'),
    op: fc.constant('equals'),
    value: fc.constantFrom('api', 'amazon'),
  }),
  fc.record({ field: fc.constant('gift'), op: fc.constant('equals'), value: fc.boolean() }),
  fc.record({
    field: fc.constant('order_total'),
    op: fc.constantFrom('gt', 'lte'),
    value: fc.constantFrom('3', '8.00'),
  }),
  fc.record({ field: fc.constant('ship_to.city'), op: fc.constantFrom('exists', 'missing') }),
);

/** Any condition at all, including fields that actions write. */
const anyCondition = fc.oneof(
  readOnlyCondition,
  fc.record({ field: fc.constant('tags'), op: fc.constantFrom('has_tag', 'lacks_tag'), value: tag }),
  fc.record({
    field: fc.constant('shipping_method'),
    op: fc.constantFrom('equals', 'not_equals'),
    value: method,
  }),
  fc
    .record({ field: fc.constant('items.sku'), op: fc.constantFrom('equals', 'not_in'), value: sku })
    .map((c) => (c.op === 'not_in' ? { ...c, value: [c.value] } : c)),
  fc.record({
    field: fc.constant('item_count'),
    op: fc.constantFrom('gt', 'equals'),
    value: fc.integer({ min: 0, max: 3 }),
  }),
);

const settable = fc.constantFrom(
  'shipping_method',
  'requested_warehouse',
  'custom_fields[1]',
  'custom_fields[2]',
  'payment_method',
);

const action = fc.oneof(
  fc.record({ type: fc.constant('set'), field: settable, value: fc.option(method, { nil: null }) }),
  fc.record({ type: fc.constant('default'), field: settable, value: method }),
  fc.record({ type: fc.constant('add_tags'), tags: fc.uniqueArray(tag, { minLength: 1, maxLength: 2 }) }),
  fc.record({ type: fc.constant('remove_tags'), tags: fc.uniqueArray(tag, { minLength: 1, maxLength: 2 }) }),
  fc.record({
    type: fc.constant('exclude_items'),
    skus: fc.uniqueArray(sku, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({ type: fc.constant('hold'), reason: fc.constant('check') }),
  fc.record({ type: fc.constant('skip') }),
  fc.record({ type: fc.constant('route_to_store'), store_id: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ type: fc.constant('set_status'), status: fc.constantFrom('new', 'await_payment') }),
);

const mapAction = fc.record({
  type: fc.constant('map_shipping_method'),
  map: fc.constant({ Ground: 'UPS Ground', Air: 'UPS Air', Boat: 'Freight' }),
  unmapped: fc.constantFrom('keep', 'hold', { default: 'Std' }),
});

function ruleSet(condition: fc.Arbitrary<Record<string, unknown>>) {
  const r = fc.record({
    owner: fc.constantFrom('merchant' as const, 'warehouse' as const),
    when: fc.array(condition, { maxLength: 2 }),
    then: fc.array(action, { minLength: 1, maxLength: 3 }),
    stop: fc.boolean(),
    enabled: fc.boolean(),
  });
  return fc
    .tuple(fc.array(r, { maxLength: 5 }), fc.option(mapAction, { nil: undefined }), fc.nat({ max: 4 }))
    .map(([specs, map, at]) => {
      // At most one map per rule set: two maps in sequence can chain (A → B in the second, B → C in
      // the first) so that mapping an already mapped order moves it again.
      const rules: Rule[] = specs.map((s, i) => {
        const then = map && i === at % Math.max(specs.length, 1) ? [...s.then, map] : s.then;
        // route_to_store is a merchant's action only (the model refuses it in a warehouse rule).
        const owned = s.owner === 'warehouse' ? then.filter((a) => a.type !== 'route_to_store') : then;
        return rule(
          {
            when: s.when,
            then: owned.length > 0 ? owned : [{ type: 'skip' }],
            stop: s.stop,
            enabled: s.enabled,
          },
          s.owner,
          i + 1,
        );
      });
      return {
        merchant: rules.filter((x) => x.owner === 'merchant'),
        warehouse: rules.filter((x) => x.owner === 'warehouse'),
      } satisfies RuleSet;
    });
}

t.test('deterministic: the same order and rules always give the same evaluation', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(anOrder, ruleSet(anyCondition), fc.boolean(), (o, rules, normalise) => {
        const a = evaluate(o, rules, { normaliseAddresses: normalise });
        // Rules as they come back from storage (JSON) and reversed input order: same answer.
        const stored = JSON.parse(JSON.stringify(rules)) as RuleSet;
        const b = evaluate(
          structuredClone(o),
          { merchant: [...stored.merchant].reverse(), warehouse: [...stored.warehouse].reverse() },
          {
            normaliseAddresses: normalise,
          },
        );
        if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('evaluation differs');
      }),
      { numRuns: RUNS },
    ),
  );
});

/**
 * Whether a set or default of shipping_method runs after the map (in run order: merchant rules by
 * position, then the warehouse's). A second pass then maps what the first pass wrote after mapping,
 * one of the cases the rules README names where re-applying is not a no-op.
 */
function writesShippingMethodAfterMap(rules: RuleSet): boolean {
  let mapped = false;
  const run = [...rules.merchant, ...rules.warehouse].filter((r) => r.enabled);
  for (const r of run)
    for (const a of r.then) {
      if (a.type === 'map_shipping_method') mapped = true;
      else if (mapped && (a.type === 'set' || a.type === 'default') && a.field === 'shipping_method')
        return true;
    }
  return false;
}

t.test('idempotent: applying the rules to the effective order changes nothing more', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(anOrder, ruleSet(readOnlyCondition), fc.boolean(), (o, rules, normalise) => {
        fc.pre(!writesShippingMethodAfterMap(rules));
        const once = evaluate(o, rules, { normaliseAddresses: normalise });
        const twice = evaluate(withEffective(o, once.fields), rules, {
          normaliseAddresses: normalise,
          excluded: once.fields.excluded,
        });
        if (JSON.stringify(once.fields) !== JSON.stringify(twice.fields)) {
          throw new Error(`${JSON.stringify(once.fields)}\n≠\n${JSON.stringify(twice.fields)}`);
        }
        if (twice.changes.length !== 0)
          throw new Error(`second run changed ${JSON.stringify(twice.changes)}`);
      }),
      { numRuns: RUNS },
    ),
  );
});

t.test('the sent order is never modified by evaluation', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(anOrder, ruleSet(anyCondition), (o, rules) => {
        const before = JSON.stringify(o);
        evaluate(o, rules, { normaliseAddresses: true });
        if (JSON.stringify(o) !== before) throw new Error('the sent order changed');
      }),
      { numRuns: RUNS },
    ),
  );
});

t.test('rules that read no lines evaluate an order the same without its lines', async (t) => {
  // Re-evaluation leaves order_lines unread when rulesReadLines says no rule reads them.
  let withoutLines = 0;
  let withLines = 0;
  fc.assert(
    fc.property(anOrder, ruleSet(anyCondition), fc.boolean(), (o, rules, normalise) => {
      if (rulesReadLines(rules)) {
        withLines++;
        return;
      }
      withoutLines++;
      const bare = { ...o, items: [] };
      const full = storedEffective(o, evaluate(o, rules, { normaliseAddresses: normalise }));
      const none = storedEffective(bare, evaluate(bare, rules, { normaliseAddresses: normalise }));
      if (JSON.stringify(full) !== JSON.stringify(none)) {
        throw new Error(`${JSON.stringify(full)}\n≠ without lines\n${JSON.stringify(none)}`);
      }
    }),
    { numRuns: RUNS },
  );
  t.ok(withoutLines > 20, `${withoutLines} rule sets read no lines and evaluated the same without them`);
  t.ok(withLines > 20, `${withLines} rule sets read lines (conditions on items, exclude_items)`);
});

t.test(
  'rulesReadLines: conditions on the lines and exclude_items read them, disabled rules do not',
  async (t) => {
    const set = (r: Rule): RuleSet => ({ merchant: [r], warehouse: [] });
    const tagIt = [{ type: 'add_tags', tags: ['x'] }];
    t.equal(
      rulesReadLines(set(rule({ when: [{ field: 'gift', op: 'equals', value: true }], then: tagIt }))),
      false,
    );
    for (const c of [
      { field: 'items.sku', op: 'equals', value: 'A' },
      { field: 'item_count', op: 'gt', value: 1 },
      { field: 'total_quantity', op: 'gt', value: 1 },
      { field: 'total_weight_grams', op: 'gt', value: 1 },
    ]) {
      t.equal(rulesReadLines(set(rule({ when: [c], then: tagIt }))), true, `${c.field} reads lines`);
    }
    t.equal(rulesReadLines(set(rule({ then: [{ type: 'exclude_items', skus: ['A'] }] }))), true);
    t.equal(
      rulesReadLines(set(rule({ enabled: false, then: [{ type: 'exclude_items', skus: ['A'] }] }))),
      false,
      'a disabled rule does not run',
    );
    t.equal(
      rulesReadLines({
        merchant: [],
        warehouse: [rule({ then: [{ type: 'exclude_items', skus: ['A'] }] }, 'warehouse')],
      }),
      true,
      "a warehouse's rule counts too",
    );
  },
);
