import t from 'tap';
import { reopenTarget } from '../../src/domain/lifecycle.js';
import {
  isCovered,
  replayShipments,
  statusAfterShipment,
  statusAfterVoid,
} from '../../src/shipments/status.js';

t.test('isCovered: adjustments are not shippable', async (t) => {
  t.ok(
    isCovered([
      { quantity: 2, shipped: 2, adjustment: false },
      { quantity: 1, shipped: 0, adjustment: true },
    ]),
  );
  t.notOk(isCovered([{ quantity: 2, shipped: 1, adjustment: false }]));
});

t.test('statusAfterShipment follows §2', async (t) => {
  t.same(statusAfterShipment('new', null, true), { status: 'shipped', held_from: null });
  t.same(statusAfterShipment('at_wms', null, true), { status: 'shipped', held_from: null });
  t.same(
    statusAfterShipment('at_wms', null, false),
    { status: 'at_wms', held_from: null },
    'partial: unchanged',
  );
  const unpaid = statusAfterShipment('await_payment', null, true);
  t.equal(unpaid.status, 'shipped');
  t.equal(unpaid.alert?.kind, 'shipped_while_await_payment');
  const held = statusAfterShipment('on_hold', 'at_wms', true);
  t.equal(held.status, 'shipped');
  t.equal(held.alert?.kind, 'shipped_while_on_hold');
  const heldPartial = statusAfterShipment('on_hold', 'at_wms', false);
  t.same(
    [heldPartial.status, heldPartial.held_from],
    ['on_hold', 'at_wms'],
    'partial: stays held where it was',
  );
  t.equal(heldPartial.alert?.kind, 'partial_shipment_while_on_hold');
  t.same(
    statusAfterShipment('confirmed', null, true),
    { status: 'shipped', held_from: null },
    'a further notice',
  );
  t.same(statusAfterShipment('shipped', null, true), { status: 'shipped', held_from: null });
  const canceled = statusAfterShipment('canceled', null, true);
  t.equal(canceled.status, 'canceled');
  t.equal(canceled.alert?.kind, 'shipped_after_cancel');
});

t.test('reopenTarget: the status the order was shipped from', async (t) => {
  t.same(reopenTarget({ status: 'new', held_from: null }, true), { status: 'at_wms', held_from: null });
  t.same(reopenTarget({ status: 'new', held_from: null }, false), { status: 'new', held_from: null });
  t.same(reopenTarget({ status: 'at_wms', held_from: null }, true), { status: 'at_wms', held_from: null });
  t.same(reopenTarget({ status: 'await_payment', held_from: null }, true), {
    status: 'await_payment',
    held_from: null,
  });
  t.same(reopenTarget({ status: 'on_hold', held_from: 'new' }, true), {
    status: 'on_hold',
    held_from: 'new',
  });
  t.same(reopenTarget(null, true), { status: 'at_wms', held_from: null });
  t.same(reopenTarget(null, false), { status: 'new', held_from: null });
  t.same(reopenTarget({ status: 'shipped', held_from: null }, false), { status: 'new', held_from: null });
});

t.test('statusAfterVoid', async (t) => {
  const reopen = { status: 'at_wms' as const, held_from: null };
  t.same(statusAfterVoid('shipped', null, false, false, reopen), reopen, 'no longer covered: reopened');
  t.same(statusAfterVoid('confirmed', null, false, true, reopen), reopen);
  t.same(
    statusAfterVoid('shipped', null, true, true, reopen).status,
    'confirmed',
    'the rest is all confirmed',
  );
  t.same(
    statusAfterVoid('confirmed', null, true, false, reopen).status,
    'shipped',
    'an unconfirmed one remains',
  );
  t.same(statusAfterVoid('canceled', null, false, false, reopen).status, 'canceled');
  t.same(statusAfterVoid('on_hold', 'new', false, false, reopen), { status: 'on_hold', held_from: 'new' });
  t.same(statusAfterVoid('at_wms', null, false, false, reopen).status, 'at_wms');
});

t.test('replayShipments caps each line and keeps the order of shipments', async (t) => {
  const lines = [
    { id: 1, quantity: 2, adjustment: false },
    { id: 2, quantity: 1, adjustment: true },
  ];
  const r = replayShipments(lines, [
    { id: 9, lines: [{ lineId: 1, requested: 2 }] },
    { id: 3, lines: [{ lineId: 1, requested: 1 }] },
    { id: 12, lines: [{ lineId: 2, requested: 1 }] },
  ]);
  t.equal(r.shipped.get(1), 2);
  t.equal(r.applied.get(3)?.get(1), 1, 'the older shipment first');
  t.equal(r.applied.get(9)?.get(1), 1, 'then capped');
  t.equal(r.applied.get(12)?.get(2), 0, 'adjustments never ship');
});
