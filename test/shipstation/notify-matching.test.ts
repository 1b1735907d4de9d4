import fc from 'fast-check';
import t from 'tap';
import {
  allocateLines,
  idempotencyKey,
  type LineState,
  type ShipmentItem as NoticeItem,
} from '../../src/shipments/facts.js';
import {
  chooseOrder,
  matchSteps,
  type OrderCandidate,
  stepKeys,
} from '../../src/shipstation/notice-matching.js';
import { replayShipments } from '../../src/shipments/status.js';

const keys = (orderId: string | null, orderNumber: string | null, queryOrderNumber: string | null) => ({
  orderId,
  orderNumber,
  queryOrderNumber,
});
const cand = (id: number, order_number: string, served_store_id: number | null = null): OrderCandidate => ({
  id,
  order_number,
  served_store_id,
});

t.test('matchSteps: the lookup order of §5', async (t) => {
  const steps = matchSteps(keys('12', 'PFX-100-1', 'PFX-100-1'), 'PFX-');
  t.same(
    steps.map((s) => (s.kind === 'id' ? `id:${s.id}` : `n:${s.number}`)),
    ['id:12', 'n:PFX-100-1', 'n:100-1', 'n:PFX-100', 'n:100'],
    'OrderID, then the number, then without prefix, without suffix, without both (repeats dropped)',
  );
  const two = matchSteps(keys(null, 'A-7', 'B-7'), '');
  t.same(
    two.map((s) => (s.kind === 'number' ? s.number : s.id)),
    ['A-7', 'B-7', 'A', 'B'],
    'body OrderNumber before query order_number; no prefix steps without a prefix',
  );
  t.same(
    matchSteps(keys('wms-000184227', null, null), '').map((s) => s.kind),
    [],
    'a non-numeric OrderID is not one of our ids (and has no numeric split form)',
  );
  t.same(
    matchSteps(keys('55-2', null, null), '').map((s) => (s.kind === 'id' ? s.id : s.number)),
    [55],
    'an OrderID with a split suffix is tried without it',
  );
  t.same(matchSteps(keys('  ', ' ', ''), 'X'), [], 'blank keys give no step');
  t.same(stepKeys(steps), { ids: [12], numbers: ['PFX-100-1', '100-1', 'PFX-100', '100'] });
  t.same(
    matchSteps(keys(null, 'PFX-', null), 'PFX-').map((s) => (s.kind === 'number' ? s.number : s.id)),
    ['PFX-'],
    'a number that is only the prefix is not stripped to nothing',
  );
});

t.test('chooseOrder', async (t) => {
  const store = 7;
  t.test('OrderID wins over numbers', async (t) => {
    const m = chooseOrder(matchSteps(keys('3', 'R-1', null), ''), [cand(3, 'X-9'), cand(4, 'R-1')], store);
    t.same(m, { ok: true, orderId: 3, step: 'OrderID 3' });
  });
  t.test('an OrderID that is not an order of the merchant passes to the number', async (t) => {
    const m = chooseOrder(matchSteps(keys('999', 'R-1', null), ''), [cand(4, 'R-1')], store);
    t.ok(m.ok && m.orderId === 4);
  });
  t.test('FM14: split-order suffix -1 matches', async (t) => {
    const m = chooseOrder(matchSteps(keys(null, 'R-100-1', 'R-100-1'), ''), [cand(5, 'R-100')], store);
    t.ok(m.ok);
    if (m.ok) {
      t.equal(m.orderId, 5);
      t.match(m.step, /without its split suffix/);
    }
  });
  t.test('an exact number is preferred to a split form', async (t) => {
    const m = chooseOrder(
      matchSteps(keys(null, 'R-100-1', null), ''),
      [cand(5, 'R-100'), cand(6, 'R-100-1')],
      store,
    );
    t.ok(m.ok && m.orderId === 6);
  });
  t.test('the prefix is removed', async (t) => {
    const m = chooseOrder(matchSteps(keys(null, 'EU-R-1', null), 'EU-'), [cand(8, 'R-1')], store);
    t.ok(m.ok && m.orderId === 8);
    const both = chooseOrder(matchSteps(keys(null, null, 'EU-R-1-2'), 'EU-'), [cand(8, 'R-1')], store);
    t.ok(both.ok && both.orderId === 8, 'prefix and suffix together');
  });
  t.test('orders this store served are preferred', async (t) => {
    const m = chooseOrder(
      matchSteps(keys(null, 'R-1', null), ''),
      [cand(1, 'R-1', 99), cand(2, 'R-1', store)],
      store,
    );
    t.ok(m.ok && m.orderId === 2);
  });
  t.test('two orders of the merchant, none served here: ambiguous', async (t) => {
    const m = chooseOrder(
      matchSteps(keys(null, 'R-1', null), ''),
      [cand(1, 'R-1'), cand(2, 'R-1', 99)],
      store,
    );
    t.equal(m.ok, false);
    if (!m.ok) {
      t.match(m.reason, /ambiguous: OrderNumber R-1 matches 2 orders of this merchant \(ids 1, 2\)/);
      t.same(m.candidates, [1, 2]);
    }
  });
  t.test('two orders served by this store: ambiguous', async (t) => {
    const m = chooseOrder(
      matchSteps(keys(null, 'R-1', null), ''),
      [cand(1, 'R-1', store), cand(2, 'R-1', store)],
      store,
    );
    t.equal(m.ok, false);
    if (!m.ok) t.match(m.reason, /served by this store/);
  });
  t.test('an ambiguous step stops the walk: a later unique split form is not used', async (t) => {
    const m = chooseOrder(
      matchSteps(keys(null, 'R-1-1', null), ''),
      [cand(1, 'R-1-1'), cand(2, 'R-1-1'), cand(3, 'R-1')],
      store,
    );
    t.equal(m.ok, false);
  });
  t.test('nothing matches', async (t) => {
    const m = chooseOrder(matchSteps(keys(null, 'R-404', 'R-404'), ''), [], store);
    t.equal(m.ok, false);
    if (!m.ok) t.match(m.reason, /no order of this merchant matches OrderNumber R-404/);
    const none = chooseOrder([], [cand(1, 'R-1')], store);
    t.equal(none.ok, false);
    if (!none.ok) t.match(none.reason, /names no order/);
  });
});

const line = (
  id: number,
  sku: string | null,
  quantity: number,
  shipped = 0,
  adjustment = false,
): LineState => ({
  id,
  position: id,
  sku,
  quantity,
  shipped,
  adjustment,
});
const item = (q: number, sku: string | null, lineItemId: string | null = null): NoticeItem => ({
  lineItemId,
  sku,
  name: null,
  quantity: q,
});

t.test('allocateLines', async (t) => {
  t.test('no items: every shippable line, what remains', async (t) => {
    const r = allocateLines(
      [line(1, 'A', 2, 1), line(2, 'B', 1), line(3, null, 1, 0, true), line(4, 'C', 1, 1)],
      null,
    );
    t.same(r.allocations, [
      { lineId: 1, applied: 1, requested: 2 },
      { lineId: 2, applied: 1, requested: 1 },
      { lineId: 4, applied: 0, requested: 1 },
    ]);
    t.equal(r.everything, true);
    t.same(r.excess, [], 'what remained is shipped: no over-shipment');
    const again = allocateLines([line(1, 'A', 2, 2)], null);
    t.same(again.allocations, [{ lineId: 1, applied: 0, requested: 2 }]);
    t.equal(again.excess.length, 1, 'the whole order again when nothing remained: over-shipment');
    t.same(
      allocateLines([line(1, 'A', 2)], []).allocations,
      [{ lineId: 1, applied: 2, requested: 2 }],
      'empty Items',
    );
  });
  t.test('LineItemID first, even when the SKU names another line', async (t) => {
    const r = allocateLines([line(1, 'A', 1), line(2, 'A', 1)], [item(1, 'A', '2')]);
    t.same(r.allocations, [{ lineId: 2, applied: 1, requested: 1 }]);
  });
  t.test('LineItemID items are applied before SKU items', async (t) => {
    const r = allocateLines([line(1, 'A', 1), line(2, 'A', 1)], [item(1, 'A'), item(1, 'A', '1')]);
    t.same(r.allocations, [
      { lineId: 1, applied: 1, requested: 1 },
      { lineId: 2, applied: 1, requested: 1 },
    ]);
    t.same(r.excess, []);
  });
  t.test('a LineItemID of another order falls back to the SKU', async (t) => {
    const r = allocateLines([line(1, 'A', 1)], [item(1, 'A', '77')]);
    t.same(r.allocations, [{ lineId: 1, applied: 1, requested: 1 }]);
  });
  t.test('repeated SKUs fill lines in position order, skipping full lines', async (t) => {
    const r = allocateLines([line(1, 'A', 2, 2), line(2, 'A', 2, 1), line(3, 'A', 3)], [item(3, 'A')]);
    t.same(r.allocations, [
      { lineId: 2, applied: 1, requested: 1 },
      { lineId: 3, applied: 2, requested: 2 },
    ]);
  });
  t.test('excess is capped and reported', async (t) => {
    const r = allocateLines([line(1, 'A', 2, 1)], [item(3, 'A')]);
    t.same(r.allocations, [{ lineId: 1, applied: 1, requested: 3 }]);
    t.same(r.excess, [{ lineId: 1, sku: 'A', ordered: 2, shippedBefore: 1, requested: 3, applied: 1 }]);
    const byId = allocateLines([line(1, 'A', 2, 2)], [item(1, null, '1')]);
    t.same(byId.allocations, [{ lineId: 1, applied: 0, requested: 1 }], 'a full line gets nothing more');
    t.equal(byId.excess.length, 1);
  });
  t.test('the excess of a repeated SKU is spread by ordered quantity', async (t) => {
    const r = allocateLines([line(1, 'A', 1, 1), line(2, 'A', 1, 1)], [item(3, 'A')]);
    t.same(r.allocations, [
      { lineId: 1, applied: 0, requested: 1 },
      { lineId: 2, applied: 0, requested: 2 },
    ]);
  });
  t.test('unknown items and adjustment lines', async (t) => {
    const r = allocateLines(
      [line(1, 'A', 1), line(2, 'FEE', 1, 0, true)],
      [item(1, 'Z'), item(1, 'FEE'), item(1, null)],
    );
    t.same(r.allocations, []);
    t.equal(r.unknown.length, 3);
    t.match(r.unknown[0]!.reason, /SKU Z/);
    const adj = allocateLines([line(2, 'FEE', 1, 0, true)], [item(1, null, '2')]);
    t.equal(adj.unknown.length, 1, 'an adjustment line is not shippable, even by LineItemID');
  });
});

// Random orders and notices: invariants, and agreement between sequential application and replay.
const linesArb = fc
  .array(
    fc.record({
      sku: fc.constantFrom('A', 'B', 'C', null),
      quantity: fc.integer({ min: 1, max: 5 }),
      adjustment: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((ls) => ls.map((l, i) => ({ ...l, id: i + 1, position: i, shipped: 0 })));
const noticeArb = fc.option(
  fc.array(
    fc.record({
      lineItemId: fc.option(fc.constantFrom('1', '2', '3', '9', 'x'), { nil: null }),
      sku: fc.option(fc.constantFrom('A', 'B', 'C', 'Z'), { nil: null }),
      name: fc.constant(null),
      quantity: fc.integer({ min: 1, max: 6 }),
    }),
    { maxLength: 4 },
  ),
  { nil: null },
);

t.test('property: allocation never over-ships and replay reproduces sequential application', async (t) => {
  fc.assert(
    fc.property(linesArb, fc.array(noticeArb, { minLength: 1, maxLength: 5 }), (lines, notices) => {
      const state: LineState[] = lines.map((l) => ({ ...l }));
      const recorded: { id: number; lines: { lineId: number; requested: number }[] }[] = [];
      const appliedSeq = new Map<number, Map<number, number>>();
      notices.forEach((items, n) => {
        const r = allocateLines(state, items);
        for (const a of r.allocations) {
          const l = state.find((x) => x.id === a.lineId)!;
          if (l.adjustment) throw new Error('adjustment allocated');
          if (a.applied > a.requested || a.applied < 0) throw new Error('applied > requested');
          l.shipped += a.applied;
          if (l.shipped > l.quantity) throw new Error('over-shipped');
        }
        recorded.push({
          id: n + 1,
          lines: r.allocations.map((a) => ({ lineId: a.lineId, requested: a.requested })),
        });
        appliedSeq.set(n + 1, new Map(r.allocations.map((a) => [a.lineId, a.applied])));
      });
      const replay = replayShipments(lines, recorded);
      for (const l of state)
        if ((replay.shipped.get(l.id) ?? 0) !== l.shipped) throw new Error('replay differs');
      for (const [sid, per] of appliedSeq) {
        for (const [lid, q] of per)
          if ((replay.applied.get(sid)?.get(lid) ?? 0) !== q) throw new Error('per-shipment');
      }
    }),
    { numRuns: 400 },
  );
  t.pass('400 random orders and notice sequences');
});

t.test('idempotencyKey', async (t) => {
  const base = {
    orderId: 1,
    trackingNumber: '1Z',
    items: [item(1, 'A', '1'), item(2, 'B')],
    labelCreatedAt: new Date('2025-07-15T16:20:00Z'),
    shipDate: '2025-07-16',
    shippingCost: '9.12',
  };
  const k = idempotencyKey(base);
  t.equal(
    idempotencyKey({ ...base, items: [item(2, 'B'), item(1, 'A', '1')] }),
    k,
    'item order does not matter',
  );
  t.equal(idempotencyKey({ ...base, trackingNumber: ' 1Z ' }), k, 'surrounding blanks do not matter');
  t.equal(
    idempotencyKey({ ...base, labelCreatedAt: null, shipDate: null, shippingCost: '1.00' }),
    k,
    'with a tracking number, dates and cost do not matter',
  );
  t.not(idempotencyKey({ ...base, orderId: 2 }), k, 'another order');
  t.not(idempotencyKey({ ...base, trackingNumber: '1Y' }), k, 'another tracking number');
  t.not(idempotencyKey({ ...base, items: [item(1, 'A', '1'), item(3, 'B')] }), k, 'other quantities');
  t.not(idempotencyKey({ ...base, items: null }), k, 'everything is not these lines');
  t.equal(
    idempotencyKey({ ...base, items: [] }),
    idempotencyKey({ ...base, items: null }),
    'empty Items = none',
  );

  const blank = { ...base, trackingNumber: null };
  const kb = idempotencyKey(blank);
  t.equal(idempotencyKey({ ...blank, trackingNumber: '  ' }), kb, 'blank = empty tracking');
  t.equal(idempotencyKey({ ...blank, shippingCost: '9.120' }), kb, 'the same cost written differently');
  t.not(idempotencyKey({ ...blank, shippingCost: '9.13' }), kb, 'empty tracking: another cost');
  t.not(idempotencyKey({ ...blank, shipDate: '2025-07-17' }), kb, 'empty tracking: another ship date');
  t.not(
    idempotencyKey({ ...blank, labelCreatedAt: new Date('2025-07-15T16:21:00Z') }),
    kb,
    'empty tracking: another label date',
  );
});
