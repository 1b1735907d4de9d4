import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { merchantOf } from '../accounts/auth.js';
import type { AppContext } from '../context.js';
import { codeSchema, idParam, listQuery, timestamp } from '../http/common.js';
import { errorBodySchema } from '../http/errors.js';
import { afterId, nextCursor } from '../lib/cursor.js';
import { shipstationUrl } from './public-url.js';
import { SHIPSTATION_STATUSES, StoresService } from './service.js';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema };

const chars = (s: string) => [...s].length;
const text = (min: number, max: number) =>
  z
    .string()
    .refine((s) => chars(s) >= min && chars(s) <= max, { message: `must be ${min}–${max} characters` });

const sourceList = z.array(text(1, 50)).max(100, 'at most 100 order sources');
const tagList = z.array(text(1, 100)).max(100, 'at most 100 tags');

const settingsShape = {
  name: z
    .string()
    .trim()
    .refine((s) => chars(s) >= 1 && chars(s) <= 100, { message: 'must be 1–100 characters' }),
  order_sources: sourceList.describe('order sources this store takes; empty = every source'),
  include_tags: tagList.describe('the order needs at least one of these tags; empty = no requirement'),
  exclude_tags: tagList.describe('the order must have none of these tags'),
  priority: z
    .number()
    .int()
    .min(-1_000_000)
    .max(1_000_000)
    .describe('lower is tried first (ties: older store first); default 100'),
  page_size: z.number().int().min(1).max(500).describe('orders per export page, 1–500; default 100'),
  timezone: z
    .string()
    .refine((tz) => IANAZone.isValidZone(tz), {
      message: 'must be an IANA time zone such as America/New_York',
    })
    .describe("IANA time zone of ShipStation's export window and dates; default UTC"),
  lookback_minutes: z
    .number()
    .int()
    .min(0)
    .max(1440)
    .describe('minutes each export window is widened backwards, 0–1440; default 10'),
  order_number_prefix: text(0, 20).describe(
    'prefixed to OrderNumber in the export, ≤ 20 characters; default ""',
  ),
};

/** Every setting optional on PATCH; on create only the name is required. */
const patchBody = z.strictObject(settingsShape).partial().meta({ id: 'StorePatch' });
const createBody = z
  .strictObject(settingsShape)
  .partial()
  .required({ name: true })
  .meta({ id: 'StoreCreate' });

const storeSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    username: z.string().describe('the ShipStation username of this store (not secret)'),
    order_sources: z.array(z.string()),
    include_tags: z.array(z.string()),
    exclude_tags: z.array(z.string()),
    priority: z.number().int(),
    page_size: z.number().int(),
    timezone: z.string(),
    lookback_minutes: z.number().int(),
    order_number_prefix: z.string(),
    created_at: timestamp,
    updated_at: timestamp,
    retired_at: timestamp
      .nullable()
      .describe('set when retired: takes no new orders, still serves ShipStation'),
    password_rotated_at: timestamp.nullable(),
  })
  .meta({ id: 'Store' });

const shipstationSchema = z
  .object({
    url: z.string().describe('what to paste as the URL to Custom XML Page'),
    warnings: z
      .array(z.string())
      .describe('why ShipStation may not reach `url` (a local or private address); empty when none'),
    username: z.string(),
    password: z.string().describe('shown once; rotate it if lost'),
    unpaid_status: z.literal(SHIPSTATION_STATUSES.unpaid_status),
    paid_status: z.literal(SHIPSTATION_STATUSES.paid_status),
    shipped_status: z.literal(SHIPSTATION_STATUSES.shipped_status),
    cancelled_status: z.literal(SHIPSTATION_STATUSES.cancelled_status),
    on_hold_status: z.literal(SHIPSTATION_STATUSES.on_hold_status),
  })
  .meta({ id: 'ShipStationStoreForm' });

const healthSchema = z
  .object({
    last_export_at: timestamp.nullable(),
    last_window: z.object({ start: timestamp, end: timestamp }).nullable(),
    last_notice_at: timestamp.nullable(),
    open_alerts: z.number().int().describe('undismissed alerts of this store'),
  })
  .meta({ id: 'StoreHealth' });

const rerouted = z
  .number()
  .int()
  .describe('orders this change moved to another store or between routed and unrouted');

const storeParams = z.object({ merchant: codeSchema, store: idParam });

export function storesRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const stores = new StoresService(ctx.db, ctx.hasher);
  return async (app) => {
    app.post(
      '/merchants/:merchant/stores',
      {
        schema: {
          tags: ['stores'],
          summary: 'Create a store connection; answers what to paste into ShipStation (password shown once)',
          params: z.object({ merchant: codeSchema }),
          body: createBody,
          response: {
            201: z
              .object({ store: storeSchema, shipstation: shipstationSchema, rerouted })
              .describe(
                'The store connection and what to type into ShipStation (the password is shown only here)',
              ),
            ...errors,
          },
        },
      },
      async (req, reply) => {
        const m = merchantOf(req);
        const created = await stores.create(m.id, req.body);
        req.logContext = { ...req.logContext, store: created.store.id };
        return reply.code(201).send({
          store: created.store,
          shipstation: {
            ...shipstationUrl(ctx.config, req),
            username: created.username,
            password: created.password,
            ...SHIPSTATION_STATUSES,
          },
          rerouted: created.rerouted,
        });
      },
    );

    app.get(
      '/merchants/:merchant/stores',
      {
        schema: {
          tags: ['stores'],
          summary:
            "The merchant's store connections, by id; retired ones included unless include_retired=false",
          params: z.object({ merchant: codeSchema }),
          querystring: listQuery.extend({
            include_retired: z
              .enum(['true', 'false'])
              .default('true')
              .describe('false hides retired connections'),
          }),
          response: {
            200: z
              .object({ stores: z.array(storeSchema), next_cursor: z.string().nullable() })
              .describe("One page of the merchant's store connections"),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        const page = await stores.list(m.id, {
          after: afterId(req.query.cursor),
          limit: req.query.limit,
          includeRetired: req.query.include_retired === 'true',
        });
        return { stores: page.rows, next_cursor: nextCursor(page.next) };
      },
    );

    app.get(
      '/merchants/:merchant/stores/:store',
      {
        schema: {
          tags: ['stores'],
          summary: 'A store connection with its health (last export, last window, last notice, open alerts)',
          params: storeParams,
          response: {
            200: z
              .object({
                store: storeSchema,
                health: healthSchema,
                shipstation: shipstationSchema
                  .omit({ password: true })
                  .describe("ShipStation's form values again, all but the password (shown once)"),
              })
              .describe('The store connection, its health and its ShipStation form values'),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        const found = await stores.get(m.id, req.params.store);
        return {
          ...found,
          shipstation: {
            ...shipstationUrl(ctx.config, req),
            username: found.store.username,
            ...SHIPSTATION_STATUSES,
          },
        };
      },
    );

    app.patch(
      '/merchants/:merchant/stores/:store',
      {
        schema: {
          tags: ['stores'],
          summary:
            'Change a store connection; filter and priority changes re-route unpinned open orders at once',
          params: storeParams,
          body: patchBody,
          response: {
            200: z
              .object({ store: storeSchema, rerouted })
              .describe('The changed store connection; rerouted counts the orders that moved'),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        req.logContext = { ...req.logContext, store: req.params.store };
        return stores.update(m.id, req.params.store, req.body);
      },
    );

    app.delete(
      '/merchants/:merchant/stores/:store',
      {
        schema: {
          tags: ['stores'],
          summary:
            'Retire a store connection: it takes no new orders and its unpinned open orders are re-routed; ' +
            'it keeps serving ShipStation the orders pinned to it. Retiring again changes nothing.',
          description:
            "The merchant's rules whose route_to_store names the connection become invalid (invalid_reason on " +
            'the rule, one rule_invalid alert each): they keep the orders they route unrouted until they name a ' +
            'live connection.',
          params: storeParams,
          response: {
            200: z
              .object({ store: storeSchema, rerouted })
              .describe('The retired store connection; rerouted counts the orders that moved'),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        req.logContext = { ...req.logContext, store: req.params.store };
        return stores.retire(m.id, req.params.store);
      },
    );

    app.post(
      '/merchants/:merchant/stores/:store/rotate-password',
      {
        schema: {
          tags: ['stores'],
          summary: 'Issue a new ShipStation password for a store connection; the old one stops working',
          params: storeParams,
          response: {
            200: z
              .object({ store: storeSchema, shipstation: shipstationSchema })
              .describe(
                'The store connection and its new ShipStation values (the password is shown only here)',
              ),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = merchantOf(req);
        req.logContext = { ...req.logContext, store: req.params.store };
        const { store, password } = await stores.rotatePassword(m.id, req.params.store);
        return {
          store,
          shipstation: {
            ...shipstationUrl(ctx.config, req),
            username: store.username,
            password,
            ...SHIPSTATION_STATUSES,
          },
        };
      },
    );
  };
}
