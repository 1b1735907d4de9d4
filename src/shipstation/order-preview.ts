import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../accounts/auth.js';
import type { AppContext } from '../context.js';
import { codeSchema, idParam } from '../http/common.js';
import { conflict, errorBodySchema, notFound } from '../http/errors.js';
import { nextStatus } from '../domain/lifecycle.js';
import { readOrders, renderPage } from './export.js';

/**
 * One order's XML exactly as its store would serve it to ShipStation now: the same reader and writer
 * as the export, the store's prefix and time zone, the status the page would carry (the lifecycle's
 * serve: an order still `new` is served as `at_wms`, as the export's statement does), in a one-page
 * `<Orders>` document.
 * Reading it changes nothing: no pinning, no event, no export log.
 */
export async function orderXmlPreview(ctx: AppContext, merchantId: number, orderId: number): Promise<string> {
  const order = await ctx.db
    .selectFrom('orders')
    .select(['store_id', 'served_store_id', 'routing_reason'])
    .where('merchant_id', '=', merchantId)
    .where('id', '=', orderId)
    .executeTakeFirst();
  if (!order) throw notFound(`order ${orderId}`);
  const storeId = order.served_store_id ?? order.store_id;
  if (storeId === null) {
    throw conflict(`the order is unrouted, so no store exports it: ${order.routing_reason ?? 'no reason'}`);
  }
  const store = await ctx.db
    .selectFrom('stores')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('id', '=', storeId)
    .executeTakeFirstOrThrow();
  const rows = (await readOrders(ctx.db, store, [orderId])).map((r) => ({
    ...r,
    status: nextStatus(r.status, 'serve')!.status,
  }));
  return renderPage(store, rows, 1);
}

export function orderXmlRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/merchants/:merchant/orders/:order/xml',
      {
        schema: {
          tags: ['orders'],
          summary: 'The order as ShipStation would receive it',
          description:
            "The order's Custom Store XML as its store (the one that served it, else the one it is routed to) " +
            'would export it now, in a one-order <Orders> document (application/xml). Changes nothing. ' +
            '409 when the order is unrouted.',
          params: z.object({ merchant: codeSchema, order: idParam }),
          response: {
            200: z.string().meta({ description: 'application/xml: <Orders pages="1"> with the one <Order>' }),
            401: errorBodySchema,
            404: errorBodySchema,
            409: errorBodySchema,
          },
        },
      },
      async (req, reply) => {
        const merchant = await ctx.accounts.merchantFor(callerOf(req), req.params.merchant);
        const xml = await orderXmlPreview(ctx, merchant.id, req.params.order);
        return reply.type('application/xml; charset=utf-8').send(xml);
      },
    );
  };
}
