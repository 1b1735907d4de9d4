import type { FastifyInstance } from 'fastify';

/** A valid order as a merchant would post it. */
export function sampleOrder(n: string | number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order_number: `SO-${n}`,
    order_date: '2026-11-20T10:15:00+01:00',
    currency: 'usd',
    tags: ['vip'],
    shipping_method: 'Ground',
    tax_amount: '1.5',
    shipping_amount: 4,
    customer: { code: 'C-1', email: 'ann@example.com' },
    ship_to: {
      name: 'Ann Buyer',
      street1: '1 Main St',
      city: 'Springfield',
      state: 'Illinois',
      postal_code: '62701',
      country: 'United States',
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
    ...over,
  };
}

export interface Who {
  code: string;
  auth: { authorization: string };
}

export function api(app: FastifyInstance, who: Who) {
  const base = `/v1/merchants/${who.code}/orders`;
  return {
    base,
    post: (payload: unknown) =>
      app.inject({ method: 'POST', url: base, headers: who.auth, payload: payload as object }),
    get: (id: number) => app.inject({ method: 'GET', url: `${base}/${id}`, headers: who.auth }),
    list: (query = '') => app.inject({ method: 'GET', url: `${base}${query}`, headers: who.auth }),
    put: (id: number, payload: unknown) =>
      app.inject({ method: 'PUT', url: `${base}/${id}`, headers: who.auth, payload: payload as object }),
    act: (id: number, action: string, payload?: unknown) =>
      app.inject({
        method: 'POST',
        url: `${base}/${id}/${action}`,
        headers: who.auth,
        ...(payload === undefined ? {} : { payload: payload as object }),
      }),
    events: (id: number) => app.inject({ method: 'GET', url: `${base}/${id}/events`, headers: who.auth }),
  };
}
