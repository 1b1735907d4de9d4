/**
 * Routing as a pure function: which store connection of a merchant takes an order.
 *
 * The database path (assign.ts) computes the same thing set-wise in SQL, built from STORE_FILTERS;
 * the two are kept in step by the property test in test/stores/routing-property.test.ts (same
 * store, same reason text).
 */

/** What routing looks at in an order. */
export interface RoutableOrder {
  readonly order_source: string;
  readonly tags: readonly string[];
}

/** What routing looks at in a store connection (a live one: retired connections never take orders). */
export interface RoutingConnection {
  readonly id: number;
  readonly name: string;
  readonly order_sources: readonly string[];
  readonly include_tags: readonly string[];
  readonly exclude_tags: readonly string[];
  readonly priority: number;
  readonly created_at: Date;
}

export type RoutingDecision = { store_id: number; reason: null } | { store_id: null; reason: string };

export const NO_CONNECTIONS = 'no store connections';

/** The routing order of connections: ascending priority, then creation, then id. */
export function compareConnections(a: RoutingConnection, b: RoutingConnection): number {
  return a.priority - b.priority || a.created_at.getTime() - b.created_at.getTime() || a.id - b.id;
}

/**
 * A connection's filter, one rule per setting, checked in this order: each says why the connection
 * refuses the order, or null. Matching is exact and case-sensitive. The set-wise SQL of assign.ts
 * is built from this list (a twin per field there, which the compiler asks for), so a new filter
 * field is added here, with its SQL twin, its column in RoutingConnection and the store settings.
 */
export const STORE_FILTERS = [
  {
    field: 'order_sources',
    refusal: (conn: RoutingConnection, order: RoutableOrder): string | null =>
      conn.order_sources.length > 0 && !conn.order_sources.includes(order.order_source)
        ? `order_source '${order.order_source}' not in [${conn.order_sources.join(', ')}]`
        : null,
  },
  {
    field: 'include_tags',
    refusal: (conn: RoutingConnection, order: RoutableOrder): string | null =>
      conn.include_tags.length > 0 && !conn.include_tags.some((t) => order.tags.includes(t))
        ? `has none of the tags [${conn.include_tags.join(', ')}]`
        : null,
  },
  {
    field: 'exclude_tags',
    refusal: (conn: RoutingConnection, order: RoutableOrder): string | null => {
      const excluded = conn.exclude_tags.filter((t) => order.tags.includes(t));
      return excluded.length > 0
        ? `${excluded.length === 1 ? 'has excluded tag' : 'has excluded tags'} ${excluded.join(', ')}`
        : null;
    },
  },
] as const;

export type StoreFilterField = (typeof STORE_FILTERS)[number]['field'];

/** The settings of a connection that decide where orders go: a change re-routes the merchant. */
export const ROUTING_SETTINGS: readonly string[] = [...STORE_FILTERS.map((f) => f.field), 'priority'];

/** Why a connection refuses an order (the first filter that fails), or null when it accepts it. */
export function refusal(conn: RoutingConnection, order: RoutableOrder): string | null {
  for (const f of STORE_FILTERS) {
    const why = f.refusal(conn, order);
    if (why !== null) return why;
  }
  return null;
}

/**
 * The first connection (by priority, creation, id) whose filter accepts the order, or unrouted with a
 * reason naming every connection tried and why it refused.
 */
export function routeOrder(order: RoutableOrder, connections: readonly RoutingConnection[]): RoutingDecision {
  if (connections.length === 0) return { store_id: null, reason: NO_CONNECTIONS };
  const sorted = [...connections].sort(compareConnections);
  const reasons: string[] = [];
  for (const conn of sorted) {
    const why = refusal(conn, order);
    if (why === null) return { store_id: conn.id, reason: null };
    reasons.push(`store ${conn.id} '${conn.name}': ${why}`);
  }
  return { store_id: null, reason: reasons.join('; ') };
}
