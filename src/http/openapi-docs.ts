import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * What each error status means, for the OpenAPI document: every route shares the error shape, so
 * the meaning of a status is written once here instead of "Default Response" on each route.
 * Success answers are described by their route (`.describe()` on the response schema).
 */
const STATUS_MEANING: Record<string, string> = {
  400: 'Bad input: the error names each field (details[].path) and the rule it breaks',
  401: 'No credentials, or wrong ones: send HTTP Basic api_user:api_key, or Bearer ADMIN_TOKEN',
  403: 'A valid credential on a route only the admin token may use',
  404: 'No such resource, or not one this credential may act on',
  409: 'The request conflicts with the current state; the message says which and what to do',
  413: 'The body is larger than 10 MB',
  415: 'Send JSON with Content-Type: application/json',
  429: 'Too many attempts; wait the Retry-After seconds',
  503: 'Not ready: the database does not answer or is not migrated yet',
};

const ORDER = {
  order_source: 'shopify-us',
  order_number: '1001',
  order_date: '2026-11-22T10:15:00-05:00',
  ship_to: {
    name: 'Jane Doe',
    street1: '221 Elm St',
    city: 'Springfield',
    state: 'IL',
    postal_code: '62704',
    country: 'US',
  },
  items: [
    { line_id: '1', sku: 'MUG-BLU', name: 'Mug, blue', quantity: 2, unit_price: '18.00' },
    { sku: 'SUMMER10', name: 'Coupon', quantity: 1, unit_price: -3.6, adjustment: true },
  ],
  tags: ['gift'],
  tax_amount: 4.9,
  shipping_amount: '7.50',
};

const REASON = {
  summary: 'with a reason (the body is optional)',
  value: { reason: 'paid by bank transfer' },
};

/**
 * Request bodies that work as shown (test/foundation/openapi-examples.test.ts posts each one), by
 * route: `summary` names the example in /docs.
 */
export const BODY_EXAMPLES: Record<string, Record<string, { summary: string; value: unknown }>> = {
  'POST /v1/warehouses': {
    warehouse: { summary: 'a warehouse', value: { code: 'acme-3pl', name: 'Acme Fulfilment' } },
  },
  'POST /v1/merchants': {
    merchant: { summary: 'a merchant', value: { code: 'bobs-bikes', name: 'Bobs Bikes' } },
  },
  'POST /v1/merchants/:merchant/credentials': {
    labelled: { summary: 'a labelled credential', value: { label: 'shopify connector' } },
  },
  'POST /v1/warehouses/:warehouse/credentials': {
    labelled: { summary: 'a labelled credential', value: { label: 'wms' } },
  },
  'POST /v1/merchants/:merchant/stores': {
    filtered: {
      summary: 'one source, held orders kept back',
      value: { name: 'Shopify US', order_sources: ['shopify-us'], exclude_tags: ['HOLD'] },
    },
    all: { summary: 'every order of the merchant', value: { name: 'All orders' } },
  },
  'PATCH /v1/merchants/:merchant/stores/:store': {
    settings: {
      summary: 'change some settings',
      value: { priority: 50, page_size: 200, timezone: 'America/New_York' },
    },
  },
  'POST /v1/merchants/:merchant/orders': {
    order: { summary: 'one order', value: ORDER },
    batch: {
      summary: 'a batch (up to 500)',
      value: {
        orders: [
          { ...ORDER, order_number: '1002' },
          { ...ORDER, order_number: '1003', tags: [] },
        ],
      },
    },
  },
  'PUT /v1/merchants/:merchant/orders/:order': {
    order: { summary: 'the whole new content', value: { ...ORDER, shipping_amount: '9.90' } },
  },
  'POST /v1/merchants/:merchant/orders/:order/pay': { reason: REASON },
  'POST /v1/merchants/:merchant/orders/:order/hold': {
    reason: { ...REASON, value: { reason: 'address to be checked' } },
  },
  'POST /v1/merchants/:merchant/orders/:order/release': {
    reason: { ...REASON, value: { reason: 'address checked' } },
  },
  'POST /v1/merchants/:merchant/orders/:order/cancel': {
    reason: { ...REASON, value: { reason: 'customer canceled' } },
  },
  'POST /v1/merchants/:merchant/shipments/confirm': {
    ids: { summary: 'the shipments picked up', value: { shipment_ids: [41, 42] } },
  },
  'POST /v1/merchants/:merchant/shipnotices/:notice/apply': {
    order: { summary: 'the order the notice belongs to', value: { order_id: 1234 } },
  },
};

type Transformed = ReturnType<typeof jsonSchemaTransform>;

/** jsonSchemaTransform, then a description on every response that has none and the body examples. */
/**
 * A success answer whose route did not describe it (`.describe()` on the schema) is described by
 * the route's summary, so no answer in /docs reads "Default Response".
 */
function successMeaning(status: string, schema: unknown): string | undefined {
  if (!/^2\d\d$/.test(status)) return undefined;
  const summary = (schema as { summary?: unknown } | undefined)?.summary;
  if (status === '204') return 'Done; no body';
  return typeof summary === 'string' ? `${status === '201' ? 'Created' : 'OK'}: ${summary}` : undefined;
}

export const transformForDocs: typeof jsonSchemaTransform = (input) => {
  const out: Transformed = jsonSchemaTransform(input);
  const schema = out.schema as {
    body?: Record<string, unknown>;
    response?: Record<string, Record<string, unknown>>;
  };
  const examples = BODY_EXAMPLES[`${input.route.method} ${input.url}`];
  if (examples && schema.body) {
    // A bare $ref loses its sibling keys on the way to the document: wrap it.
    const body = '$ref' in schema.body ? { allOf: [schema.body] } : schema.body;
    schema.body = { ...body, 'x-examples': examples };
  }
  const response = schema.response;
  if (response) {
    for (const [status, schema] of Object.entries(response)) {
      if (typeof schema !== 'object' || schema === null || schema.description !== undefined) continue;
      const meaning = STATUS_MEANING[status] ?? successMeaning(status, input.schema);
      if (meaning !== undefined) response[status] = { ...schema, description: meaning };
    }
  }
  return out;
};
