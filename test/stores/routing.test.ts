import t from 'tap';
import { type RoutingConnection, routeOrder } from '../../src/stores/routing.js';

let next = 1;
const conn = (c: Partial<RoutingConnection> & { name: string }): RoutingConnection => ({
  id: next++,
  order_sources: [],
  include_tags: [],
  exclude_tags: [],
  priority: 100,
  created_at: new Date('2026-11-01T00:00:00Z'),
  ...c,
});

t.test('no connections: unrouted, saying so', async (t) => {
  t.same(routeOrder({ order_source: 'api', tags: [] }, []), {
    store_id: null,
    reason: 'no store connections',
  });
});

t.test('an empty filter takes everything', async (t) => {
  const all = conn({ name: 'All' });
  t.same(routeOrder({ order_source: 'anything', tags: ['X', 'HOLD'] }, [all]), {
    store_id: all.id,
    reason: null,
  });
});

t.test('order_sources, include_tags, exclude_tags, exact and case-sensitive', async (t) => {
  const amazon = conn({ id: 12, name: 'Amazon', order_sources: ['amazon'] });
  const vip = conn({ id: 13, name: 'VIP', include_tags: ['VIP', 'Gold'] });
  const noHold = conn({ id: 14, name: 'All', exclude_tags: ['HOLD', 'FRAUD'] });
  const stores = [amazon, vip, noHold];
  t.equal(routeOrder({ order_source: 'amazon', tags: [] }, stores).store_id, 12);
  t.equal(
    routeOrder({ order_source: 'Amazon', tags: [] }, stores).store_id,
    14,
    'sources are case-sensitive',
  );
  t.equal(
    routeOrder({ order_source: 'shopify', tags: ['Gold'] }, stores).store_id,
    13,
    'one include tag is enough',
  );
  t.equal(
    routeOrder({ order_source: 'shopify', tags: ['vip'] }, stores).store_id,
    14,
    'tags are case-sensitive',
  );
  t.same(routeOrder({ order_source: 'shopify', tags: ['HOLD'] }, stores), {
    store_id: null,
    reason:
      "store 12 'Amazon': order_source 'shopify' not in [amazon]; " +
      "store 13 'VIP': has none of the tags [VIP, Gold]; " +
      "store 14 'All': has excluded tag HOLD",
  });
  t.same(routeOrder({ order_source: 'shopify', tags: ['FRAUD', 'x', 'HOLD'] }, [noHold]), {
    store_id: null,
    reason: "store 14 'All': has excluded tags HOLD, FRAUD",
  });
  t.equal(
    routeOrder({ order_source: 'amazon', tags: ['HOLD'] }, [
      conn({ name: 'a', order_sources: ['amazon'], exclude_tags: ['HOLD'] }),
    ]).store_id,
    null,
    'every part of a filter must accept',
  );
});

t.test('priority, then creation, then id decide among accepting connections', async (t) => {
  const early = new Date('2026-01-01T00:00:00Z');
  const late = new Date('2026-06-01T00:00:00Z');
  const a = conn({ id: 1, name: 'a', priority: 100, created_at: early });
  const b = conn({ id: 2, name: 'b', priority: 10, created_at: late });
  const c = conn({ id: 3, name: 'c', priority: 10, created_at: early });
  const d = conn({ id: 4, name: 'd', priority: 10, created_at: early });
  const order = { order_source: 'api', tags: [] };
  t.equal(routeOrder(order, [a, b, c, d]).store_id, 3, 'lowest priority, then oldest, then lowest id');
  t.equal(routeOrder(order, [d, b, a]).store_id, 4, 'input order does not matter');
  t.equal(routeOrder(order, [a, b]).store_id, 2);
  const neg = conn({ id: 5, name: 'neg', priority: -5 });
  t.equal(routeOrder(order, [a, b, c, neg]).store_id, 5);
  const refuseFirst = conn({ id: 6, name: 'first', priority: 1, order_sources: ['x'] });
  t.equal(routeOrder(order, [refuseFirst, a]).store_id, 1, 'a refusing connection is skipped');
});
