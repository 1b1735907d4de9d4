import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../accounts/auth.js';
import type { AppContext } from '../context.js';
import { actorOf } from '../accounts/caller.js';
import type { SourceOrderState } from '../db/schema.js';
import { codeSchema, idParam, listQuery, timestamp } from '../http/common.js';
import { afterId, nextCursor } from '../lib/cursor.js';
import { conflict, errorBodySchema } from '../http/errors.js';
import { parseInstant } from '../orders/schema.js';
import { orderView } from '../orders/view.js';
import { ApiFailure, ShipStationApi } from './api.js';
import { DEFAULT_ORDER_STATUSES, POLL_MINUTES, SOURCE_ORDER_STATES, SS_ORDER_STATUSES } from './model.js';
import { SourcesRepository } from './repository.js';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

const codePoints = (s: string) => [...s].length;
const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((s) => codePoints(s) <= 50, 'must be at most 50 characters')
  .describe("the orders' order_source: 1–50 characters; cannot change once created");
const apiKey = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .describe("ShipStation's API Key (Settings → API Settings)");
const apiSecret = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .describe("ShipStation's API Secret; stored encrypted, never answered or logged");
const storeId = z
  .number()
  .int()
  .positive()
  .nullable()
  .describe("only this ShipStation store's orders (its storeId; POST …/test lists them)");
const orderStatuses = z
  .array(z.enum(SS_ORDER_STATUSES))
  .min(1)
  .max(SS_ORDER_STATUSES.length)
  .transform((s) => [...new Set(s)])
  .describe(
    `ShipStation statuses an order must have to be taken the first time it is seen (default ${DEFAULT_ORDER_STATUSES.join(', ')})`,
  );
const tag = z
  .strictObject({
    mode: z.enum(['include', 'exclude']),
    name: z.string().min(1, 'must not be empty').max(100),
  })
  .nullable()
  .describe(
    'include: take only orders with this tag; exclude: take only orders without it. The tag name matches exactly, case-sensitive',
  );
const pollMinutes = z
  .number()
  .int()
  .min(POLL_MINUTES.min)
  .max(POLL_MINUTES.max)
  .describe(
    `minutes between pulls, ${POLL_MINUTES.min}–${POLL_MINUTES.max} (default ${POLL_MINUTES.default})`,
  );
const earliest = z
  .string()
  .transform((s, ctx) => {
    const r = parseInstant(s);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.utc;
  })
  .nullable()
  .describe(
    'ISO 8601 with offset: orders dated earlier are never taken; also where the first pull starts (default: 7 days before the source was made)',
  );

const sourceSchema = z
  .object({
    id: z.number().int(),
    type: z.literal('shipstation'),
    name: z.string(),
    merchant: z.string(),
    api_key: z.string(),
    store_id: z.number().int().nullable(),
    order_statuses: z.array(z.string()),
    tag: z.object({ mode: z.enum(['include', 'exclude']), name: z.string() }).nullable(),
    poll_minutes: z.number().int(),
    earliest_order_date: timestamp.nullable(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable().describe('why it pulls no more (401 from ShipStation, a person)'),
    created_at: timestamp,
    updated_at: timestamp,
    health: z.object({
      last_pull_at: timestamp.nullable(),
      last_pull_error: z.string().nullable(),
      last_pull_orders: z
        .number()
        .int()
        .nullable()
        .describe('orders taken, changed or refused by the last pull'),
      cursor: timestamp
        .nullable()
        .describe('the newest ShipStation modifyDate stored; the next pull starts a few minutes before it'),
      next_pull_at: timestamp.nullable(),
      orders_taken: z.number().int(),
      open_alerts: z.number().int(),
    }),
  })
  .meta({
    id: 'Source',
    example: {
      id: 3,
      type: 'shipstation',
      name: 'ss-main',
      merchant: 'bobs-bikes',
      api_key: '5a1c0b8f9e2d4c7a',
      store_id: null,
      order_statuses: ['awaiting_shipment'],
      tag: { mode: 'include', name: 'Warehouse' },
      poll_minutes: 15,
      earliest_order_date: null,
      enabled: true,
      disabled_reason: null,
      created_at: '2026-12-03T09:00:00.000Z',
      updated_at: '2026-12-03T09:00:00.000Z',
      health: {
        last_pull_at: '2026-12-03T10:15:02.000Z',
        last_pull_error: null,
        last_pull_orders: 12,
        cursor: '2026-12-03T10:14:40.000Z',
        next_pull_at: '2026-12-03T10:30:02.000Z',
        orders_taken: 340,
        open_alerts: 0,
      },
    },
  });

/**
 * What a ShipStation source can be set to, built from the constants the routes judge with: a form
 * (the console's) offers exactly these instead of keeping a copy that could drift.
 */
const shipstationType = {
  type: 'shipstation' as const,
  order_statuses: [...SS_ORDER_STATUSES],
  default_order_statuses: [...DEFAULT_ORDER_STATUSES],
  poll_minutes: { ...POLL_MINUTES },
};

const sourceTypeSchema = z
  .object({
    type: z.literal('shipstation'),
    order_statuses: z
      .array(z.enum(SS_ORDER_STATUSES))
      .describe("every ShipStation status a source's order_statuses may name, in ShipStation's order"),
    default_order_statuses: z
      .array(z.enum(SS_ORDER_STATUSES))
      .describe('the statuses a source takes when it is created without order_statuses'),
    poll_minutes: z
      .object({ min: z.number().int(), max: z.number().int(), default: z.number().int() })
      .describe("poll_minutes' bounds, and its value when it is left out"),
  })
  .meta({ id: 'SourceType', example: shipstationType });

const sourceOrderStates = z.string().transform((v, c) => {
  const states = [...new Set(v.split(',').map((x) => x.trim()))];
  const bad = states.filter((x) => !(SOURCE_ORDER_STATES as readonly string[]).includes(x));
  if (bad.length > 0 || states.length === 0) {
    c.addIssue({
      code: 'custom',
      message: `unknown state ${bad.map((b) => `'${b}'`).join(', ')}: use ${SOURCE_ORDER_STATES.join(', ')}`,
    });
    return z.NEVER;
  }
  return states as SourceOrderState[];
});

const sourceOrderSchema = z
  .object({
    ss_order_id: z.number().int().describe("ShipStation's orderId"),
    order_number: z.string().nullable().describe("ShipStation's orderNumber"),
    state: z.enum(SOURCE_ORDER_STATES),
    reason: z
      .string()
      .nullable()
      .describe('refused: what validation said; held: why it is withheld (also its routing.reason)'),
    details: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .describe("a refused order's validation details, each naming the field of the order as mapped"),
    order_id: z.number().int().nullable().describe('our order (null when refused)'),
    ss_status: z.string().describe("ShipStation's orderStatus as last pulled"),
    modify_date: timestamp.describe("ShipStation's modifyDate as last pulled"),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'SourceOrder',
    example: {
      ss_order_id: 1002,
      order_number: 'R-1',
      state: 'refused',
      reason: 'items[0].quantity: must be at least 1',
      details: [{ path: 'items[0].quantity', message: 'must be at least 1' }],
      order_id: null,
      ss_status: 'awaiting_shipment',
      modify_date: '2026-12-03T10:14:40.000Z',
      created_at: '2026-12-03T10:15:02.000Z',
      updated_at: '2026-12-03T10:15:02.000Z',
    },
  });

const params = z.object({ merchant: codeSchema });
const withId = params.extend({ id: idParam });

/** Order sources shipbridge pulls from itself: a merchant's own ShipStation account. */
export function sourcesRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const repo = new SourcesRepository(ctx.db, ctx.hasher);
    const merchantOf = (req: Parameters<typeof callerOf>[0], code: string) =>
      ctx.accounts.merchantFor(callerOf(req), code);
    const tags = ['sources'];

    app.get(
      '/source-types/shipstation',
      {
        schema: {
          tags,
          summary:
            'What a ShipStation source can be set to: the order statuses it may take and those it takes by default, and the poll interval (the same for every caller)',
          response: { 200: sourceTypeSchema, 401: errorBodySchema },
        },
      },
      async () => shipstationType,
    );

    app.post(
      '/merchants/:merchant/sources',
      {
        schema: {
          tags,
          summary:
            'Connect a ShipStation account as an order source: its orders (filtered by status, store and tag) are pulled on a schedule, and tracking goes back when they ship',
          params,
          body: z
            .strictObject({
              type: z.literal('shipstation'),
              name,
              api_key: apiKey,
              api_secret: apiSecret,
              store_id: storeId.optional(),
              order_statuses: orderStatuses.optional(),
              tag: tag.optional(),
              poll_minutes: pollMinutes.optional(),
              earliest_order_date: earliest.optional(),
            })
            .meta({
              example: {
                type: 'shipstation',
                name: 'ss-main',
                api_key: '5a1c0b8f9e2d4c7a',
                api_secret: 'b7e4f1a09c3d4e52',
                order_statuses: ['awaiting_shipment'],
                tag: { mode: 'include', name: 'Warehouse' },
                poll_minutes: 15,
              },
            }),
          response: { 201: z.object({ source: sourceSchema }), ...errors },
        },
      },
      async (req, reply) => {
        const m = await merchantOf(req, req.params.merchant);
        // A key kept in the same database as the secret it seals protects nothing.
        if (ctx.engine === 'postgres' && !ctx.config.secretKey)
          throw conflict(
            'set SECRET_KEY in the environment before connecting a source: its API secret is stored encrypted with a key derived from it',
          );
        return reply.code(201).send({ source: await repo.create(m, req.body) });
      },
    );

    app.get(
      '/merchants/:merchant/sources',
      {
        schema: {
          tags,
          summary: "The merchant's source connections (retired ones are not listed)",
          params,
          response: { 200: z.object({ sources: z.array(sourceSchema), next_cursor: z.null() }), ...errors },
        },
      },
      async (req) => ({
        sources: await repo.list(await merchantOf(req, req.params.merchant)),
        next_cursor: null,
      }),
    );

    app.get(
      '/merchants/:merchant/sources/:id',
      {
        schema: {
          tags,
          summary: 'A source connection with its health (last pull, cursor, next pull, open alerts)',
          params: withId,
          response: { 200: z.object({ source: sourceSchema }), ...errors },
        },
      },
      async (req) => ({ source: await repo.get(await merchantOf(req, req.params.merchant), req.params.id) }),
    );

    app.patch(
      '/merchants/:merchant/sources/:id',
      {
        schema: {
          tags,
          summary:
            'Change a source; new api_key/api_secret (after regenerating them in ShipStation) re-enable a source disabled by a 401, as {"enabled": true} does',
          params: withId,
          body: z
            .strictObject({
              name: name.optional().describe('must equal the current name (it cannot change)'),
              api_key: apiKey.optional(),
              api_secret: apiSecret.optional(),
              store_id: storeId.optional(),
              order_statuses: orderStatuses.optional(),
              tag: tag.optional(),
              poll_minutes: pollMinutes.optional(),
              earliest_order_date: earliest.optional(),
              enabled: z.boolean().optional(),
            })
            .meta({ example: { tag: { mode: 'exclude', name: 'Dropship' }, poll_minutes: 30 } }),
          response: { 200: z.object({ source: sourceSchema }), ...errors },
        },
      },
      async (req) => ({
        source: await repo.update(await merchantOf(req, req.params.merchant), req.params.id, req.body),
      }),
    );

    app.delete(
      '/merchants/:merchant/sources/:id',
      {
        schema: {
          tags,
          summary: 'Retire a source: it pulls no more; its orders stay, and their tracking still goes back',
          params: withId,
          response: { 204: z.null().describe('retired'), ...errors },
        },
      },
      async (req, reply) => {
        await repo.retire(await merchantOf(req, req.params.merchant), req.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/merchants/:merchant/sources/:id/pull',
      {
        schema: {
          tags,
          summary: 'Pull now (in the background); GET the source to follow it',
          params: withId,
          response: {
            202: z.object({ pull: z.object({ source_id: z.number().int(), requested_at: timestamp }) }),
            ...errors,
          },
        },
      },
      async (req, reply) => {
        const at = await repo.requestPull(await merchantOf(req, req.params.merchant), req.params.id);
        return reply.code(202).send({ pull: { source_id: req.params.id, requested_at: at } });
      },
    );

    app.get(
      '/merchants/:merchant/sources/:id/orders',
      {
        schema: {
          tags,
          summary:
            'The ShipStation orders the source has seen, by state: refused (validation refused them; each with its details) and held (stored withheld, exported nowhere, until released)',
          description:
            'A refused order is not stored as an order: fix it in ShipStation and the next pull takes it. A held order is stored (order_id) but routed nowhere and never matched by number to a shipment notice — its number was already another order of the source (it is stored as `<number>-ss<orderId>`), or it was split or merged in ShipStation from orders already pulled — until a person releases it with POST …/orders/{ss_order_id}/release. Listed by ShipStation orderId; cursor pagination.',
          params: withId,
          querystring: listQuery.extend({
            state: sourceOrderStates
              .optional()
              .describe('comma-separated states: refused, held, taken (default: refused,held)'),
          }),
          response: {
            200: z.object({ orders: z.array(sourceOrderSchema), next_cursor: z.string().nullable() }),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = await merchantOf(req, req.params.merchant);
        const page = await repo.listOrders(
          m,
          req.params.id,
          req.query.state ?? ['refused', 'held'],
          afterId(req.query.cursor),
          req.query.limit,
        );
        return { orders: page.rows, next_cursor: nextCursor(page.next) };
      },
    );

    app.post(
      '/merchants/:merchant/sources/:id/orders/:ss_order_id/release',
      {
        schema: {
          tags,
          summary:
            'Release a held ShipStation order: its order routes as usual from now on (exported by the store connection that takes it), and its alert is dismissed',
          params: withId.extend({ ss_order_id: idParam }),
          response: {
            200: z.object({ source_order: sourceOrderSchema, order: orderView }),
            ...errors,
          },
        },
      },
      async (req) => {
        const caller = callerOf(req);
        const m = await ctx.accounts.merchantFor(caller, req.params.merchant);
        return repo.releaseOrder(m, req.params.id, req.params.ss_order_id, actorOf(caller));
      },
    );

    app.post(
      '/merchants/:merchant/sources/:id/test',
      {
        schema: {
          tags,
          summary:
            "Check the connection: answers the account's stores (their ids, for store_id) and tags, or why ShipStation refused",
          params: withId,
          response: {
            200: z
              .object({
                ok: z.boolean(),
                error: z.string().nullable(),
                stores: z.array(
                  z.object({
                    id: z.number().int(),
                    name: z.string(),
                    marketplace: z.string().nullable(),
                    active: z.boolean(),
                  }),
                ),
                tags: z.array(z.object({ id: z.number().int(), name: z.string() })),
                tag_found: z
                  .boolean()
                  .nullable()
                  .describe("the source's tag filter names a tag of the account (null: no filter)"),
              })
              .meta({
                example: {
                  ok: true,
                  error: null,
                  stores: [{ id: 101, name: 'Amazon US', marketplace: 'Amazon', active: true }],
                  tags: [{ id: 7001, name: 'Warehouse' }],
                  tag_found: true,
                },
              }),
            ...errors,
          },
        },
      },
      async (req) => {
        const m = await merchantOf(req, req.params.merchant);
        const row = await repo.row(ctx.db, m, req.params.id);
        const api = new ShipStationApi(repo.account(row), {
          baseUrl: ctx.config.shipstationApiUrl,
          db: ctx.db,
          clock: () => new Date(),
          timeoutMs: 15_000,
        });
        try {
          const stores =
            await api.get<
              { storeId: number; storeName: string; marketplaceName?: string | null; active?: boolean }[]
            >('/stores');
          const list = await api.get<{ tagId: number; name: string }[]>('/accounts/listtags');
          return {
            ok: true,
            error: null,
            stores: stores.map((s) => ({
              id: s.storeId,
              name: s.storeName,
              marketplace: s.marketplaceName ?? null,
              active: s.active ?? true,
            })),
            tags: list.map((t) => ({ id: t.tagId, name: t.name })),
            tag_found: row.tag_name === null ? null : list.some((t) => t.name === row.tag_name),
          };
        } catch (err) {
          if (!(err instanceof ApiFailure)) throw err;
          return { ok: false, error: err.message, stores: [], tags: [], tag_found: null };
        }
      },
    );
  };
}
