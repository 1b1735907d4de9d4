import t from 'tap';
import { ORDER_STATUSES, type OrderStatus } from '../../src/db/schema.js';
import {
  type HeldFrom,
  isEditable,
  type LifecycleEvent,
  nextStatus,
  refusalMessage,
} from '../../src/domain/lifecycle.js';

/** The §2 table for merchant requests: [from, event, to] — everything else is refused. */
const ALLOWED: [OrderStatus, LifecycleEvent, OrderStatus][] = [
  ['await_payment', 'pay', 'new'],
  ['await_payment', 'hold', 'on_hold'],
  ['new', 'hold', 'on_hold'],
  ['at_wms', 'hold', 'on_hold'],
  ['on_hold', 'release', 'new'],
  ['await_payment', 'cancel', 'canceled'],
  ['new', 'cancel', 'canceled'],
  ['at_wms', 'cancel', 'canceled'],
  ['on_hold', 'cancel', 'canceled'],
];

t.test('merchant events: exactly the table, everything else refused', async (t) => {
  for (const from of ORDER_STATUSES) {
    for (const event of ['pay', 'hold', 'release', 'cancel'] as const) {
      const row = ALLOWED.find(([f, e]) => f === from && e === event);
      const next = nextStatus(from, event, null);
      if (row) t.equal(next?.status, row[2], `${from} --${event}--> ${row[2]}`);
      else t.equal(next, null, `${from} --${event}--> refused`);
    }
  }
});

t.test('hold remembers where it came from; release goes back', async (t) => {
  for (const from of ['await_payment', 'new', 'at_wms'] as HeldFrom[]) {
    const held = nextStatus(from, 'hold');
    t.same(held, { status: 'on_hold', held_from: from });
    t.same(nextStatus('on_hold', 'release', held!.held_from), { status: from, held_from: null });
  }
  t.same(nextStatus('on_hold', 'release', null), { status: 'new', held_from: null }, 'created on_hold → new');
  t.same(nextStatus('on_hold', 'cancel', 'at_wms'), { status: 'canceled', held_from: null });
  t.equal(nextStatus('on_hold', 'hold', 'new'), null, 'no double hold');
});

t.test('ShipStation-side facts are never refused', async (t) => {
  t.same(nextStatus('new', 'serve'), { status: 'at_wms', held_from: null });
  for (const s of ORDER_STATUSES.filter((x) => x !== 'new')) {
    t.equal(nextStatus(s, 'serve', s === 'on_hold' ? 'new' : null)?.status, s, `serve keeps ${s}`);
  }
  t.same(nextStatus('on_hold', 'serve', 'new'), { status: 'on_hold', held_from: 'new' }, 'keeps held_from');
  for (const s of ['new', 'at_wms', 'shipped', 'confirmed'] as OrderStatus[]) {
    t.same(nextStatus(s, 'ship'), { status: 'shipped', held_from: null }, `${s} ship → shipped`);
  }
  for (const s of ['await_payment', 'on_hold'] as OrderStatus[]) {
    const n = nextStatus(s, 'ship');
    t.equal(n?.status, 'shipped');
    t.match(n?.alert, /shipped while/, `${s} ship raises an alert`);
  }
  const c = nextStatus('canceled', 'ship');
  t.equal(c?.status, 'canceled', 'a canceled order stays canceled');
  t.ok(c?.alert);
  t.equal(nextStatus('shipped', 'confirm')?.status, 'confirmed');
  t.equal(nextStatus('new', 'confirm')?.status, 'new', 'confirm applies only to shipped');
  t.equal(nextStatus('confirmed', 'reopen')?.status, 'at_wms');
  t.equal(nextStatus('shipped', 'reopen')?.status, 'at_wms');
  t.equal(nextStatus('canceled', 'reopen')?.status, 'canceled');
});

t.test('editable statuses and messages', async (t) => {
  t.same(ORDER_STATUSES.filter(isEditable), ['await_payment', 'new', 'at_wms', 'on_hold']);
  t.match(refusalMessage('pay', 'shipped'), /cannot pay an order that is shipped/);
});
