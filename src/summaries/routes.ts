import { stringify } from 'csv-stringify/sync';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import { callerOf } from '../accounts/auth.js';
import type { AppContext } from '../context.js';
import { codeSchema } from '../http/common.js';
import { errorBodySchema, invalid } from '../http/errors.js';
import { SUMMARY_COLUMNS, type SummaryQuery, summarise } from './query.js';

/** At most this many days per request: a year, leap years included. */
export const MAX_DAYS = 366;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD');

const querySchema = z.object({
  by: z.enum(['day']).default('day').describe('the period of each row (only `day` for now)'),
  date: z
    .enum(['created', 'shipped'])
    .default('created')
    .describe(
      '`created`: orders by the day they were created, with their shipments; `shipped`: orders by the day ' +
        'they became shipped, shipments by their ship date',
    ),
  from: day.describe('first day, inclusive'),
  to: day.describe(`last day, inclusive (at most ${MAX_DAYS} days after from)`),
  timezone: z.string().max(64).default('UTC').describe('IANA time zone the days are counted in'),
  group: z
    .enum(['store', 'source', 'status'])
    .optional()
    .describe('`store`: the serving store, else the routed one (its id; null when unrouted)'),
});

const summarySchema = z
  .object({
    day: z.string(),
    group: z.string().nullable(),
    currency: z.string().nullable(),
    orders: z.number().int(),
    units: z.number().int().describe('quantities of the non-adjustment lines'),
    order_total: z.string(),
    shipping_paid: z.string().describe('sum of the orders’ shipping_amount'),
    shipments: z.number().int(),
    shipping_cost: z.string().describe('sum of the shipments’ shipping_cost'),
  })
  .meta({
    id: 'Summary',
    example: {
      day: '2026-11-20',
      group: 'shopify-us',
      currency: 'USD',
      orders: 42,
      units: 97,
      order_total: '3120.40',
      shipping_paid: '210.00',
      shipments: 40,
      shipping_cost: '388.12',
    },
  });

const response = {
  200: z.object({ summaries: z.array(summarySchema) }).describe('JSON, or CSV with Accept: text/csv'),
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
};

const description =
  'Per day (in `timezone`), group and currency. Canceled orders and voided shipments are left out. ' +
  'Money is exact, as strings with two decimals. Send `Accept: text/csv` for CSV with the same columns.';

type Query = z.infer<typeof querySchema>;

/** Checks the period and the zone, with the field named. */
function period(q: Query): Pick<SummaryQuery, 'from' | 'to' | 'timezone'> {
  if (!IANAZone.isValidZone(q.timezone)) {
    throw invalid('unknown time zone', [
      { path: 'query.timezone', message: 'an IANA zone such as America/Chicago' },
    ]);
  }
  const from = DateTime.fromISO(q.from, { zone: 'UTC' });
  const to = DateTime.fromISO(q.to, { zone: 'UTC' });
  if (!from.isValid) throw invalid('invalid day', [{ path: 'query.from', message: 'not a calendar day' }]);
  if (!to.isValid) throw invalid('invalid day', [{ path: 'query.to', message: 'not a calendar day' }]);
  const days = to.diff(from, 'days').days + 1;
  if (days < 1) throw invalid('empty period', [{ path: 'query.to', message: 'must not be before from' }]);
  if (days > MAX_DAYS) {
    throw invalid('period too long', [{ path: 'query.to', message: `at most ${MAX_DAYS} days from from` }]);
  }
  return { from: q.from, to: q.to, timezone: q.timezone };
}

const wantsCsv = (req: FastifyRequest) => /\btext\/csv\b/i.test(req.headers.accept ?? '');

/** Runs the summary for a scope and answers it as JSON, or CSV when asked. */
async function answer(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  q: Query,
  scope: SummaryQuery['scope'],
) {
  const rows = await summarise(ctx.db, { scope, date: q.date, group: q.group, ...period(q) });
  if (!wantsCsv(req)) return { summaries: rows };
  const csv = stringify(rows, { header: true, columns: [...SUMMARY_COLUMNS] });
  return reply
    .type('text/csv; charset=utf-8')
    .serializer((payload: unknown) => payload as string)
    .send(csv);
}

export function summariesRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/merchants/:merchant/summaries',
      {
        schema: {
          tags: ['summaries'],
          summary: "A merchant's order summaries per day",
          description,
          params: z.object({ merchant: codeSchema }),
          querystring: querySchema,
          response,
        },
      },
      async (req, reply) => {
        const m = await ctx.accounts.merchantFor(callerOf(req), req.params.merchant);
        return answer(ctx, req, reply, req.query, { merchantId: m.id });
      },
    );

    app.get(
      '/warehouses/:warehouse/summaries',
      {
        schema: {
          tags: ['summaries'],
          summary: "Order summaries per day across a warehouse's merchants",
          description,
          params: z.object({ warehouse: codeSchema }),
          querystring: querySchema,
          response,
        },
      },
      async (req, reply) => {
        const warehouseId = await ctx.accounts.warehouseIdFor(callerOf(req), req.params.warehouse);
        return answer(ctx, req, reply, req.query, { warehouseId });
      },
    );
  };
}
