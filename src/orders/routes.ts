import type { FastifyRouteSchemaDef, FastifyValidationResult } from 'fastify/types/schema.js';
import { type FastifyPluginAsyncZod, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, merchantOf } from '../accounts/auth.js';
import { actorOf } from '../accounts/caller.js';
import type { AppContext } from '../context.js';
import { ORDER_STATUSES, type OrderStatus } from '../db/schema.js';
import { MERCHANT_EVENTS, type MerchantEvent } from '../domain/lifecycle.js';
import { codeSchema, idParam, listQuery } from '../http/common.js';
import { AppError, errorBodySchema, invalid } from '../http/errors.js';
import { createOrders, getOrder, listOrders, orderEvents, replaceOrder, transitionOrder } from './service.js';
import { createBodySchema, instant, MAX_BATCH, orderReplaceSchema } from './schema.js';
import { orderView } from './view.js';

const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
  409: errorBodySchema,
  413: errorBodySchema,
};

const merchantParams = z.object({ merchant: codeSchema });
const orderParams = z.object({ merchant: codeSchema, order: idParam });

const batchResult = z
  .object({
    index: z.number().int(),
    result: z.enum(['created', 'duplicate', 'conflict', 'invalid']),
    order: orderView.optional(),
    error: errorBodySchema.shape.error.optional(),
  })
  .meta({ id: 'OrderBatchResult' });

const eventView = z
  .object({
    id: z.number().int(),
    at: z.date(),
    type: z
      .string()
      .meta({ description: 'created, replaced, pay, hold, release, cancel, or a ShipStation event' }),
    from_status: z.string().nullable(),
    to_status: z.string().nullable(),
    actor_type: z.string().meta({ description: 'credential, store, system or admin' }),
    actor: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'OrderEvent' });

const listOrdersQuery = listQuery.extend({
  status: z
    .string()
    .optional()
    .meta({ description: 'one status, or several separated by commas' })
    .transform((s, ctx) => {
      if (s === undefined || s === '') return undefined;
      const list = s.split(',').map((x) => x.trim());
      for (const x of list) {
        if (!(ORDER_STATUSES as readonly string[]).includes(x)) {
          ctx.addIssue({ code: 'custom', message: `must be one of ${ORDER_STATUSES.join(', ')}` });
          return z.NEVER;
        }
      }
      return list as OrderStatus[];
    }),
  order_source: z.string().min(1).max(200).optional(),
  order_number: z.string().min(1).max(200).optional(),
  routing: z.enum(['routed', 'unrouted']).optional(),
  updated_since: instant.optional().meta({
    description: 'orders whose updated_at is at or after this instant, ordered by (updated_at, id)',
  }),
});

const transitionBody = z
  .object({ reason: z.string().max(1000).optional() })
  .nullish()
  .meta({ description: 'optional; the reason is kept in the order event' });

const TRANSITION_SUMMARY: Record<MerchantEvent, string> = {
  pay: 'Mark an await_payment order paid (→ new)',
  hold: 'Put an order on hold (from await_payment, new or at_wms)',
  release: 'Release an on_hold order to the status it was held from (new if created on hold)',
  cancel: 'Cancel an order (from await_payment, new, at_wms or on_hold)',
};

/**
 * Params and query are validated by zod as usual; the order body is validated by the handler,
 * order by order (a batch must not fail as a whole, and paths name the order in the batch).
 */
export function bodyByHandler<T>(route: FastifyRouteSchemaDef<T>): FastifyValidationResult {
  if (route.httpPart === 'body') return (data: unknown) => ({ value: data });
  return validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0]);
}

export function ordersRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/merchants/:merchant/orders',
      {
        schema: {
          tags: ['orders'],
          summary: 'Create one order, or a batch {"orders": [...]} of up to 500',
          description:
            'One order: 201 with the order; the same order again (same normalised content) 200 with the stored ' +
            'order; different content under the same (order_source, order_number) 409 (use PUT). A batch answers ' +
            '200 with one result per input, in order; each order is stored or not on its own.',
          params: merchantParams,
          body: createBodySchema,
          response: {
            200: z
              .union([orderView, z.object({ results: z.array(batchResult) })])
              .describe(
                'A batch: one result per order, in input order. One order: it was already stored with the same content (a safe retry)',
              ),
            201: orderView.describe('The stored order: id, status, routing, computed total, line ids'),
            ...errors,
          },
        },
        // Validation is done by the handler, order by order (a batch must not fail as a whole);
        // the schema above documents the body.
        validatorCompiler: bodyByHandler,
        config: { bodyTextsCheckedByRoute: true },
      },
      async (req, reply) => {
        const caller = callerOf(req);
        const merchant = merchantOf(req);
        const body: unknown = req.body;
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw invalid('send one order object, or {"orders": [...]}', [
            { path: '(root)', message: 'must be an object' },
          ]);
        }
        const ref = { id: merchant.id, code: merchant.code };
        if ('orders' in body) {
          const orders = (body as { orders: unknown }).orders;
          const extra = Object.keys(body).filter((k) => k !== 'orders');
          if (!Array.isArray(orders))
            throw invalid('invalid batch', [{ path: 'orders', message: 'must be an array' }]);
          if (extra.length > 0) {
            throw invalid(
              'invalid batch',
              extra.map((k) => ({ path: k, message: 'unknown field (a batch has only "orders")' })),
            );
          }
          if (orders.length === 0)
            throw invalid('invalid batch', [{ path: 'orders', message: 'at least one order' }]);
          if (orders.length > MAX_BATCH) {
            throw invalid(`a batch holds at most ${MAX_BATCH} orders`, [
              { path: 'orders', message: `${orders.length} orders; at most ${MAX_BATCH}` },
            ]);
          }
          const results = await createOrders(ctx.db, ref, actorOf(caller), orders, true);
          const tally = new Map<string, number>();
          for (const r of results) tally.set(r.result, (tally.get(r.result) ?? 0) + 1);
          for (const [result, n] of tally) ctx.metrics.ordersIngested.inc({ result }, n);
          req.logContext = { merchant: merchant.code, orders: orders.length };
          return reply.code(200).send({ results });
        }
        const [r] = await createOrders(ctx.db, ref, actorOf(caller), [body], false);
        if (!r) throw new AppError('internal', 'no result');
        ctx.metrics.ordersIngested.inc({ result: r.result });
        if ('order' in r) return reply.code(r.result === 'created' ? 201 : 200).send(r.order);
        throw new AppError(
          r.result === 'conflict' ? 'conflict' : 'invalid_request',
          r.error.message,
          r.error.details,
        );
      },
    );

    app.get(
      '/merchants/:merchant/orders',
      {
        schema: {
          tags: ['orders'],
          summary: 'List orders (filters, cursor pagination)',
          description:
            'Ordered by id; with updated_since by (updated_at, id), answering only rows older than the oldest ' +
            'open database transaction so that late commits are never skipped (poll again with the last ' +
            'updated_at seen; updated_since is inclusive).',
          params: merchantParams,
          querystring: listOrdersQuery,
          response: {
            200: z
              .object({ orders: z.array(orderView), next_cursor: z.string().nullable() })
              .describe('One page of the orders that match the filters'),
            ...errors,
          },
        },
      },
      async (req) => {
        const merchant = merchantOf(req);
        return listOrders(ctx.db, { id: merchant.id, code: merchant.code }, req.query);
      },
    );

    app.get(
      '/merchants/:merchant/orders/:order',
      {
        schema: {
          tags: ['orders'],
          summary: 'Read an order',
          params: orderParams,
          response: { 200: orderView.describe('The order with its lines and routing'), ...errors },
        },
      },
      async (req) => {
        const merchant = merchantOf(req);
        return getOrder(ctx.db, { id: merchant.id, code: merchant.code }, req.params.order);
      },
    );

    app.put(
      '/merchants/:merchant/orders/:order',
      {
        schema: {
          tags: ['orders'],
          summary: "Replace an order's content",
          description:
            'Allowed while await_payment, new, at_wms or on_hold (409 otherwise). Once the order has been served ' +
            'to ShipStation or has a shipment, items can no longer change (409); other fields can. ' +
            'order_source and order_number cannot change (409). Lines keep their line_item_id when their ' +
            'line_id is kept. The same content changes nothing.',
          params: orderParams,
          body: orderReplaceSchema,
          response: { 200: orderView.describe('The order with its new content'), ...errors },
        },
        validatorCompiler: bodyByHandler,
        config: { bodyTextsCheckedByRoute: true },
      },
      async (req) => {
        const caller = callerOf(req);
        const merchant = merchantOf(req);
        return replaceOrder(
          ctx.db,
          { id: merchant.id, code: merchant.code },
          actorOf(caller),
          req.params.order,
          req.body as unknown,
        );
      },
    );

    for (const event of MERCHANT_EVENTS) {
      app.post(
        `/merchants/:merchant/orders/:order/${event}`,
        {
          schema: {
            tags: ['orders'],
            summary: TRANSITION_SUMMARY[event],
            params: orderParams,
            body: transitionBody,
            response: { 200: orderView.describe('The order in its new status'), ...errors },
          },
        },
        async (req) => {
          const caller = callerOf(req);
          const merchant = merchantOf(req);
          return transitionOrder(
            ctx.db,
            { id: merchant.id, code: merchant.code },
            actorOf(caller),
            req.params.order,
            event,
            req.body?.reason ?? null,
          );
        },
      );
    }

    app.get(
      '/merchants/:merchant/orders/:order/events',
      {
        schema: {
          tags: ['orders'],
          summary: "An order's history, oldest first",
          params: orderParams,
          response: {
            200: z.object({ events: z.array(eventView) }).describe("The order's history, oldest first"),
            ...errors,
          },
        },
      },
      async (req) => {
        const merchant = merchantOf(req);
        return {
          events: await orderEvents(ctx.db, { id: merchant.id, code: merchant.code }, req.params.order),
        };
      },
    );
  };
}
