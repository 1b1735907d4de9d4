import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, merchantOf } from '../accounts/auth.js';
import { actorOf } from '../accounts/caller.js';
import type { AppContext } from '../context.js';
import { idParam, idValue, listQuery, merchantParams, timestamp } from '../http/common.js';
import { afterId, nextCursor } from '../lib/cursor.js';
import { getShipment } from '../shipments/repository.js';
import { errors, shipmentSchema } from '../shipments/routes.js';
import { applyStoredNotice, dismissNotice, getNotice, listNotices } from './stored-notices.js';

const noticeStatus = z.enum(['received', 'applied', 'duplicate', 'unmatched', 'dismissed']);

const noticeSchema = z
  .object({
    id: z.number().int(),
    received_at: timestamp,
    store_id: z.number().int(),
    status: noticeStatus,
    order_number: z.string().nullable(),
    tracking_number: z.string().nullable(),
    reason: z.string().nullable(),
    order_id: z.number().int().nullable(),
    shipment_id: z.number().int().nullable(),
    content_type: z.string().nullable(),
    query: z.record(z.string(), z.string()).describe('the query string as received, credentials removed'),
    resolved_at: timestamp.nullable(),
    resolved_by: z.string().nullable(),
  })
  .meta({ id: 'ShipNotice' });

const noticeDetailSchema = noticeSchema
  .extend({ body: z.string().describe('the raw request body as received') })
  .meta({ id: 'ShipNoticeDetail' });

/** The stored-notice queue: list, read, apply to an order a person chose, dismiss. */
export function noticeRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/merchants/:merchant/shipnotices',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Stored shipment notices (unmatched by default)',
          params: merchantParams,
          querystring: listQuery.extend({
            status: z
              .enum(['unmatched', 'received', 'applied', 'duplicate', 'dismissed', 'all'])
              .default('unmatched'),
            store_id: idParam.optional(),
          }),
          response: {
            200: z
              .object({ shipnotices: z.array(noticeSchema), next_cursor: z.string().nullable() })
              .describe('One page of shipment notices'),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        const page = await listNotices(ctx.db, m.id, {
          status: req.query.status,
          storeId: req.query.store_id,
          after: afterId(req.query.cursor),
          limit: req.query.limit,
        });
        return { shipnotices: page.rows, next_cursor: nextCursor(page.next) };
      },
    );

    app.get(
      '/merchants/:merchant/shipnotices/:notice',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Read a stored shipment notice with its raw body',
          params: merchantParams.extend({ notice: idParam }),
          response: {
            200: noticeDetailSchema.describe('The notice with its raw body as ShipStation posted it'),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        return getNotice(ctx.db, m.id, req.params.notice);
      },
    );

    app.post(
      '/merchants/:merchant/shipnotices/:notice/apply',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Apply a stored notice to an order',
          description:
            'The same application as a notice ShipStation matched. Applying it to the same order again changes ' +
            'nothing; an unreadable body, a dismissed notice or one applied to another order is 409.',
          params: merchantParams.extend({ notice: idParam }),
          body: z.object({ order_id: idValue }),
          response: {
            200: z
              .object({
                result: z.enum(['applied', 'duplicate', 'unchanged']),
                shipnotice: noticeSchema,
                shipment: shipmentSchema.nullable(),
              })
              .describe('What applying the notice did, the notice, and the shipment it recorded'),
            ...errors,
          },
        },
      },
      async (req) => {
        const caller = callerOf(req);
        const m = merchantOf(req);
        const { result } = await applyStoredNotice(
          ctx.db,
          m.id,
          req.params.notice,
          req.body.order_id,
          actorOf(caller),
        );
        const { body: _body, ...notice } = await getNotice(ctx.db, m.id, req.params.notice);
        const shipment =
          notice.shipment_id === null ? null : await getShipment(ctx.db, m.id, notice.shipment_id);
        return { result, shipnotice: notice, shipment };
      },
    );

    app.post(
      '/merchants/:merchant/shipnotices/:notice/dismiss',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Dismiss a stored notice that will not be applied',
          params: merchantParams.extend({ notice: idParam }),
          response: { 200: noticeSchema.describe('The dismissed notice'), ...errors },
        },
      },
      async (req) => {
        const caller = callerOf(req);
        const m = merchantOf(req);
        const { body: _body, ...notice } = await dismissNotice(
          ctx.db,
          m.id,
          req.params.notice,
          actorOf(caller).actor,
        );
        return notice;
      },
    );
  };
}
