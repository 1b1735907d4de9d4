import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, merchantOf } from '../accounts/auth.js';
import { actorOf } from '../accounts/caller.js';
import type { AppContext } from '../context.js';
import { idParam, idValue, listQuery, merchantParams, timestamp } from '../http/common.js';
import { errorBodySchema } from '../http/errors.js';
import { afterId, nextCursor } from '../lib/cursor.js';
import {
  confirmShipments,
  dismissAlert,
  getShipment,
  listAlerts,
  listShipments,
  voidShipment,
} from './repository.js';

/** The error answers of these routes (and of the stored-notice routes beside them). */
export const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
  409: errorBodySchema,
};

const shipmentItemSchema = z
  .object({
    line_id: z.string().nullable().describe("the merchant's line id"),
    line_item_id: z.number().int().describe('our line id (LineItemID in ShipStation)'),
    sku: z.string().nullable(),
    name: z.string().nullable(),
    quantity: z
      .number()
      .int()
      .describe('units of the line this shipment counts (capped at the ordered quantity)'),
    requested_quantity: z.number().int().describe('units the notice reported for the line'),
  })
  .meta({ id: 'ShipmentItem' });

export const shipmentSchema = z
  .object({
    id: z.number().int(),
    order_id: z.number().int(),
    order_number: z.string(),
    order_source: z.string(),
    store_id: z.number().int().nullable(),
    notice_id: z.number().int().nullable(),
    carrier: z.string().nullable(),
    service: z.string().nullable(),
    tracking_number: z.string().nullable(),
    ship_date: z.string().nullable().describe('YYYY-MM-DD'),
    label_created_at: timestamp.nullable(),
    shipping_cost: z.string().nullable().describe('two decimals'),
    notify_customer: z
      .boolean()
      .nullable()
      .describe('true: ShipStation did not e-mail the buyer, the store should notify them'),
    created_at: timestamp,
    confirmed_at: timestamp.nullable(),
    voided_at: timestamp.nullable(),
    source_notified_at: timestamp
      .nullable()
      .describe("a pulled order's shipment: when its source ShipStation account was told it shipped"),
    items: z.array(shipmentItemSchema),
  })
  .meta({ id: 'Shipment' });

const alertSchema = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    message: z.string(),
    order_id: z.number().int().nullable(),
    store_id: z.number().int().nullable(),
    notice_id: z.number().int().nullable(),
    data: z.record(z.string(), z.unknown()).nullable(),
    created_at: timestamp,
    dismissed_at: timestamp.nullable(),
    dismissed_by: z.string().nullable(),
  })
  .meta({ id: 'Alert' });

/** Shipment pickup, confirm and void; alerts. (The stored-notice queue: shipstation/notice-routes.ts.) */
export function shipmentsRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/merchants/:merchant/shipments',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Shipment confirmation pickup: shipments with their items',
          description:
            'Unconfirmed, not voided shipments by default; `status=confirmed|voided|all` for others. ' +
            'Ordered by id; pass next_cursor back as cursor.',
          params: merchantParams,
          querystring: listQuery.extend({
            status: z.enum(['unconfirmed', 'confirmed', 'voided', 'all']).default('unconfirmed'),
            order_id: idParam.optional().describe('only the shipments of this order'),
          }),
          response: {
            200: z
              .object({ shipments: z.array(shipmentSchema), next_cursor: z.string().nullable() })
              .describe('One page of shipments'),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        const page = await listShipments(ctx.db, m.id, {
          status: req.query.status,
          orderId: req.query.order_id,
          after: afterId(req.query.cursor),
          limit: req.query.limit,
        });
        return { shipments: page.rows, next_cursor: nextCursor(page.next) };
      },
    );

    app.get(
      '/merchants/:merchant/shipments/:shipment',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Read a shipment',
          params: merchantParams.extend({ shipment: idParam }),
          response: { 200: shipmentSchema.describe('The shipment with its items'), ...errors },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        return getShipment(ctx.db, m.id, req.params.shipment);
      },
    );

    app.post(
      '/merchants/:merchant/shipments/confirm',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Confirm pickup of shipments',
          description:
            'Shipments already confirmed, voided, or not this merchant’s are not counted. An order that ' +
            'is shipped and whose every shipment is now confirmed becomes confirmed.',
          params: merchantParams,
          body: z.object({ shipment_ids: z.array(idValue).min(1).max(500) }),
          response: {
            200: z.object({ confirmed: z.number().int() }).describe('How many shipments this call confirmed'),
            ...errors,
          },
        },
      },
      async (req) => {
        const caller = callerOf(req);
        const m = merchantOf(req);
        return { confirmed: await confirmShipments(ctx.db, m.id, req.body.shipment_ids, actorOf(caller)) };
      },
    );

    app.post(
      '/merchants/:merchant/shipments/:shipment/void',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Void a shipment',
          description:
            'Shipped quantities are recomputed from the remaining shipments and the order status follows: ' +
            'a shipped or confirmed order no longer fully covered reopens to the status it was shipped from ' +
            '(`new` becomes `at_wms` once served to ShipStation); canceled stays canceled. Voiding twice is 409.',
          params: merchantParams.extend({ shipment: idParam }),
          response: { 200: shipmentSchema.describe('The voided shipment'), ...errors },
        },
      },
      async (req) => {
        const caller = callerOf(req);
        const m = merchantOf(req);
        return voidShipment(ctx.db, m.id, req.params.shipment, actorOf(caller));
      },
    );

    app.get(
      '/merchants/:merchant/alerts',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Alerts: what needs a person (open by default)',
          params: merchantParams,
          querystring: listQuery.extend({
            status: z.enum(['open', 'dismissed', 'all']).default('open'),
            kind: z.string().max(100).optional(),
            order_id: idParam.optional(),
            store_id: idParam.optional(),
          }),
          response: {
            200: z
              .object({ alerts: z.array(alertSchema), next_cursor: z.string().nullable() })
              .describe('One page of alerts'),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        const page = await listAlerts(ctx.db, m.id, {
          status: req.query.status,
          kind: req.query.kind,
          orderId: req.query.order_id,
          storeId: req.query.store_id,
          after: afterId(req.query.cursor),
          limit: req.query.limit,
        });
        return { alerts: page.rows, next_cursor: nextCursor(page.next) };
      },
    );

    app.post(
      '/merchants/:merchant/alerts/:alert/dismiss',
      {
        schema: {
          tags: ['shipments'],
          summary: 'Dismiss an alert',
          params: merchantParams.extend({ alert: idParam }),
          response: { 200: alertSchema.describe('The dismissed alert'), ...errors },
        },
      },
      async (req) => {
        const caller = callerOf(req);
        const m = merchantOf(req);
        return dismissAlert(ctx.db, m.id, req.params.alert, actorOf(caller).actor);
      },
    );
  };
}
