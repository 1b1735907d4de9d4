import t from 'tap';
import {
  CONDITION_FIELDS,
  FIELDS,
  KIND_OPERATORS,
  OPERATORS,
  parseRule,
  parseRulePatch,
  valueShape,
} from '../../src/rules/model.js';

const sample: Record<string, unknown> = {
  none: undefined,
  string: 'x',
  strings: ['x', 'y'],
  boolean: true,
  money: '10.5',
  integer: 2,
  decimal: 3,
};

const details = (body: Record<string, unknown>, owner: 'merchant' | 'warehouse' = 'merchant') => {
  const r = parseRule({ name: 'r', then: [{ type: 'skip' }], ...body }, owner);
  return r.ok ? [] : r.details;
};

t.test('every field accepts exactly the operators of its kind, with the right value', async (t) => {
  for (const field of CONDITION_FIELDS) {
    const kind = FIELDS[field].kind;
    for (const op of OPERATORS) {
      const allowed = KIND_OPERATORS[kind].includes(op);
      const shape = allowed ? valueShape(kind, op) : 'string';
      const cond = { field, op, ...(sample[shape] === undefined ? {} : { value: sample[shape] }) };
      const d = details({ when: [{ field: 'gift', op: 'exists' }, cond].slice(1) });
      if (allowed) t.same(d, [], `${field} ${op}`);
      else t.equal(d[0]?.path, 'when[0].op', `${field} ${op} refused`);
    }
  }
});

t.test('refusals name the path', async (t) => {
  t.same(
    details({
      when: [
        { field: 'shipping_method', op: 'exists' },
        { field: 'gift', op: 'contains', value: 'x' },
      ],
    }),
    [
      {
        path: 'when[1].op',
        message: "'contains' does not apply to gift (boolean); use one of equals, not_equals",
      },
    ],
  );
  t.equal(details({ when: [{ field: 'colour', op: 'equals', value: 'x' }] })[0]?.path, 'when[0].field');
  t.equal(details({ when: [{ field: 'order_total', op: 'gt', value: '1.234' }] })[0]?.path, 'when[0].value');
  t.equal(details({ when: [{ field: 'item_count', op: 'gt', value: 1.5 }] })[0]?.path, 'when[0].value');
  t.equal(details({ when: [{ field: 'tags', op: 'exists', value: 'x' }] })[0]?.path, 'when[0].value');
  t.equal(details({ when: [{ field: 'shipping_method', op: 'in', value: 'x' }] })[0]?.path, 'when[0].value');
  t.equal(
    details({ when: [{ field: 'order_total', op: 'gt', value: 1, ignore_case: true }] })[0]?.path,
    'when[0].ignore_case',
  );
  t.equal(
    details({ when: [{ field: 'order_total', op: 'gt', value: 1, regex: 'x' }] })[0]?.path,
    'when[0].regex',
  );
  t.equal(details({ then: [{ type: 'nope' }] })[0]?.path, 'then[0].type');
  t.equal(details({ then: [] })[0]?.path, 'then');
  t.equal(details({ then: [{ type: 'set', field: 'order_total', value: '1' }] })[0]?.path, 'then[0].field');
  t.equal(
    details({ then: [{ type: 'map_shipping_method', map: { A: 'B' }, unmapped: 'drop' }] })[0]?.path,
    'then[0].unmapped',
  );
  t.equal(
    details({ then: [{ type: 'map_shipping_method', map: { A: 'B', B: 'C' } }] })[0]?.path,
    'then[0].map.A',
    'a chain is refused',
  );
  t.equal(
    details({ then: [{ type: 'map_shipping_method', map: { A: 'B' }, unmapped: { default: 'A' } }] })[0]
      ?.path,
    'then[0].unmapped.default',
  );
  t.same(
    details({ then: [{ type: 'map_shipping_method', map: { A: 'A', B: 'A' } }] }),
    [],
    'identity is fine',
  );
  t.equal(details({ then: [{ type: 'set_status', status: 'shipped' }] })[0]?.path, 'then[0].status');
  t.equal(details({ then: [{ type: 'exclude_items', skus: [] }] })[0]?.path, 'then[0].skus');
  t.equal(details({ name: '' })[0]?.path, 'name');
  t.equal(details({ colour: 'red' })[0]?.path, 'colour');
});

t.test('route_to_store only in merchant rules', async (t) => {
  t.same(details({ then: [{ type: 'route_to_store', store_id: 3 }] }, 'merchant'), []);
  t.equal(
    details({ then: [{ type: 'skip' }, { type: 'route_to_store', store_id: 3 }] }, 'warehouse')[0]?.path,
    'then[1].type',
  );
  const p = parseRulePatch({ then: [{ type: 'route_to_store', store_id: 3 }] }, 'warehouse');
  t.equal(p.ok, false);
});

t.test('defaults, normalised values and read-only fields', async (t) => {
  const r = parseRule(
    {
      id: 9,
      owner: 'merchant',
      created_at: 'x',
      name: ' Big orders ',
      when: [{ field: 'order_total', op: 'gte', value: 100 }],
      then: [{ type: 'add_tags', tags: ['BIG'] }],
    },
    'merchant',
  );
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.value.name, 'Big orders');
  t.equal(r.value.enabled, true);
  t.equal(r.value.stop, false);
  t.same(
    r.value.when,
    [{ field: 'order_total', op: 'gte', value: '100.00' }],
    'money kept exact, as a string',
  );
  const m = parseRule({ name: 'm', then: [{ type: 'map_shipping_method', map: { A: 'B' } }] }, 'merchant');
  t.ok(m.ok && m.value.then[0]!.type === 'map_shipping_method' && m.value.then[0]!.unmapped === 'keep');
});
