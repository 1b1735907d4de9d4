import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../accounts/auth.js';
import type { AppContext } from '../context.js';
import { codeSchema, idParam, listQuery, timestamp } from '../http/common.js';
import { errorBodySchema, notFound } from '../http/errors.js';
import { afterId, nextCursor } from '../lib/cursor.js';
import { ping } from './delivery.js';
import { EVENT_DESCRIPTIONS, WEBHOOK_EVENT_TYPES } from './events.js';
import { type Owner, WebhooksRepository } from './repository.js';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

const SUBSCRIBABLE = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'ping') as [string, ...string[]];
const eventType = z
  .enum(SUBSCRIBABLE)
  .describe(
    SUBSCRIBABLE.map((t) => `${t}: ${EVENT_DESCRIPTIONS[t as keyof typeof EVENT_DESCRIPTIONS]}`).join('; '),
  );

/**
 * What a webhook may subscribe to, built from the list the routes judge with, so a form (the
 * console's) offers exactly these instead of keeping a copy that could drift.
 */
const eventTypes = {
  event_types: SUBSCRIBABLE.map((type) => ({
    type,
    description: EVENT_DESCRIPTIONS[type as keyof typeof EVENT_DESCRIPTIONS],
  })),
};

const eventTypesSchema = z
  .object({
    event_types: z
      .array(z.object({ type: z.enum(SUBSCRIBABLE), description: z.string() }))
      .describe("every event type a webhook's events may name, with what it reports"),
  })
  .meta({ id: 'WebhookEventTypes', example: eventTypes });

const urlField = z
  .string()
  .max(2000)
  .describe(
    'https URL that receives the deliveries (loopback, link-local and private addresses are refused)',
  );

const webhookSchema = z
  .object({
    id: z.number().int(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabled_reason: z
      .string()
      .nullable()
      .describe('why it was disabled (410, 3 days without a 2xx, a person)'),
    merchant: z.string().nullable(),
    warehouse: z.string().nullable(),
    previous_secret_expires_at: timestamp
      .nullable()
      .describe('after a rotation: until when the previous secret still signs, beside the new one'),
    last_success_at: timestamp.nullable(),
    failing_since: timestamp.nullable().describe('first failed attempt since the last 2xx'),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'Webhook',
    example: {
      id: 7,
      url: 'https://hooks.example.com/shipbridge',
      events: ['order.created', 'shipment.created'],
      description: 'ERP sync',
      enabled: true,
      disabled_reason: null,
      merchant: 'bobs-bikes',
      warehouse: null,
      previous_secret_expires_at: null,
      last_success_at: '2026-12-03T10:15:02.000Z',
      failing_since: null,
      created_at: '2026-12-01T09:00:00.000Z',
      updated_at: '2026-12-01T09:00:00.000Z',
    },
  });

const secretSchema = z
  .string()
  .describe('whsec_ + base64 of the signing key; shown once, keep it to verify webhook-signature')
  .meta({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3zF8bkp8Xk0=' });

const attemptSchema = z.object({
  at: timestamp,
  status_code: z.number().int().nullable().describe("the receiver's answer; null when none came"),
  error: z.string().nullable(),
  duration_ms: z.number().int(),
  response_body: z.string().nullable().describe('the first 2 KB of the answer'),
});

const deliverySchema = z
  .object({
    id: z.number().int(),
    event_id: z.string().describe('webhook-id of the deliveries (the same on every attempt)'),
    type: z.string(),
    order_id: z.number().int().nullable(),
    status: z.enum(['pending', 'succeeded', 'failed', 'skipped']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    last_duration_ms: z.number().int().nullable(),
    last_attempt_at: timestamp.nullable(),
    next_attempt_at: timestamp.nullable().describe('pending: when the next attempt is due'),
    created_at: timestamp,
    delivered_at: timestamp.nullable(),
    attempt_log: z.array(attemptSchema),
  })
  .meta({
    id: 'WebhookDelivery',
    example: {
      id: 912,
      event_id: 'evt_40211',
      type: 'shipment.created',
      order_id: 1544,
      status: 'pending',
      attempts: 1,
      last_status_code: 503,
      last_error: 'answered 503',
      last_duration_ms: 84,
      last_attempt_at: '2026-12-03T10:15:00.000Z',
      next_attempt_at: '2026-12-03T10:15:05.000Z',
      created_at: '2026-12-03T10:15:00.000Z',
      delivered_at: null,
      attempt_log: [
        {
          at: '2026-12-03T10:15:00.000Z',
          status_code: 503,
          error: null,
          duration_ms: 84,
          response_body: 'busy',
        },
      ],
    },
  });

const idParams = z.object({ id: idParam });

/**
 * Webhooks of a merchant (/v1/merchants/{merchant}/webhooks) and of a warehouse, for all its
 * merchants (/v1/warehouses/{warehouse}/webhooks): the same routes under both.
 */
export function webhooksRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const repo = new WebhooksRepository(ctx.db, ctx.hasher.box, ctx.config.webhookAllowPrivate);
    const deps = {
      db: ctx.db,
      webhooks: repo,
      allowPrivate: ctx.config.webhookAllowPrivate,
      metrics: ctx.metrics,
    };

    app.get(
      '/webhook-event-types',
      {
        schema: {
          tags: ['webhooks'],
          summary:
            'The event types a webhook can subscribe to, each with what it reports (the same for every caller)',
          response: { 200: eventTypesSchema, 401: errorBodySchema },
        },
      },
      async () => eventTypes,
    );

    const scopes = [
      {
        prefix: '/merchants/:merchant/webhooks',
        params: z.object({ merchant: codeSchema }),
        who: 'merchant',
        owner: async (req: FastifyRequest, p: { merchant?: string; warehouse?: string }): Promise<Owner> => {
          const m = await ctx.accounts.merchantFor(callerOf(req), p['merchant']!);
          return { kind: 'merchant', id: m.id, code: m.code };
        },
      },
      {
        prefix: '/warehouses/:warehouse/webhooks',
        params: z.object({ warehouse: codeSchema }),
        who: 'warehouse (all its merchants)',
        owner: async (req: FastifyRequest, p: { merchant?: string; warehouse?: string }): Promise<Owner> => {
          const caller = callerOf(req);
          const code = p['warehouse']!;
          const w = await ctx.db
            .selectFrom('warehouses')
            .select(['id', 'code'])
            .where('code', '=', code)
            .executeTakeFirst();
          const allowed =
            w && (caller.kind === 'admin' || (caller.kind === 'warehouse' && caller.warehouseId === w.id));
          if (!w || !allowed) throw notFound(`warehouse '${code}'`);
          return { kind: 'warehouse', id: w.id, code: w.code };
        },
      },
    ] as const;

    for (const s of scopes) {
      const tags = ['webhooks'];
      const params = s.params;
      const withId = params.extend(idParams.shape);

      app.post(
        s.prefix,
        {
          schema: {
            tags,
            summary: `Create a webhook of a ${s.who}; the signing secret is answered once`,
            params,
            body: z
              .object({
                url: urlField,
                events: z.array(eventType).min(1).max(SUBSCRIBABLE.length),
                description: z.string().max(500).optional(),
              })
              .meta({
                example: {
                  url: 'https://hooks.example.com/shipbridge',
                  events: ['order.created', 'shipment.created'],
                  description: 'ERP sync',
                },
              }),
            response: { 201: z.object({ webhook: webhookSchema, secret: secretSchema }), ...errors },
          },
        },
        async (req, reply) =>
          reply.code(201).send(await repo.create(await s.owner(req, req.params), req.body)),
      );

      app.get(
        s.prefix,
        {
          schema: {
            tags,
            summary: `The webhooks of a ${s.who}`,
            params,
            response: {
              200: z.object({ webhooks: z.array(webhookSchema), next_cursor: z.null() }),
              ...errors,
            },
          },
        },
        async (req) => ({ webhooks: await repo.list(await s.owner(req, req.params)), next_cursor: null }),
      );

      app.get(
        `${s.prefix}/:id`,
        {
          schema: {
            tags,
            summary: 'A webhook',
            params: withId,
            response: { 200: z.object({ webhook: webhookSchema }), ...errors },
          },
        },
        async (req) => ({ webhook: await repo.get(await s.owner(req, req.params), req.params.id) }),
      );

      app.patch(
        `${s.prefix}/:id`,
        {
          schema: {
            tags,
            summary: 'Change a webhook; {"enabled": true} re-enables a disabled one',
            params: withId,
            body: z
              .object({
                url: urlField.optional(),
                events: z.array(eventType).min(1).max(SUBSCRIBABLE.length).optional(),
                description: z.string().max(500).nullable().optional(),
                enabled: z.boolean().optional(),
              })
              .meta({ example: { enabled: true } }),
            response: { 200: z.object({ webhook: webhookSchema }), ...errors },
          },
        },
        async (req) => ({
          webhook: await repo.update(await s.owner(req, req.params), req.params.id, req.body),
        }),
      );

      app.delete(
        `${s.prefix}/:id`,
        {
          schema: {
            tags,
            summary: 'Delete a webhook and its delivery log; pending deliveries stop',
            params: withId,
            response: { 204: z.null().describe('deleted'), ...errors },
          },
        },
        async (req, reply) => {
          await repo.delete(await s.owner(req, req.params), req.params.id);
          return reply.code(204).send(null);
        },
      );

      app.post(
        `${s.prefix}/:id/rotate-secret`,
        {
          schema: {
            tags,
            summary:
              'A new signing secret (answered once); for 24 h the previous one signs too (webhook-signature carries both)',
            params: withId,
            response: { 200: z.object({ webhook: webhookSchema, secret: secretSchema }), ...errors },
          },
        },
        async (req) => repo.rotateSecret(await s.owner(req, req.params), req.params.id),
      );

      app.post(
        `${s.prefix}/:id/test`,
        {
          schema: {
            tags,
            summary: 'Send a signed ping now and answer how the receiver answered (one attempt, no retries)',
            params: withId,
            response: {
              200: z
                .object({
                  delivery_id: z.number().int(),
                  event_id: z.string(),
                  delivered: z.boolean().describe('the receiver answered 2xx'),
                  status_code: z.number().int().nullable(),
                  error: z.string().nullable(),
                  duration_ms: z.number().int(),
                })
                .meta({
                  example: {
                    delivery_id: 913,
                    event_id: 'evt_40212',
                    delivered: true,
                    status_code: 204,
                    error: null,
                    duration_ms: 35,
                  },
                }),
              ...errors,
            },
          },
        },
        async (req) => {
          const owner = await s.owner(req, req.params);
          await repo.get(owner, req.params.id);
          const r = await ping(
            deps,
            req.params.id,
            owner.kind === 'merchant' ? owner.id : null,
            () => new Date(),
          );
          return { ...r, delivered: r.status_code !== null && r.status_code >= 200 && r.status_code < 300 };
        },
      );

      app.get(
        `${s.prefix}/:id/deliveries`,
        {
          schema: {
            tags,
            summary:
              'The delivery log, newest first: status, attempts with answer codes and durations, next retry',
            params: withId,
            querystring: listQuery,
            response: {
              200: z.object({ deliveries: z.array(deliverySchema), next_cursor: z.string().nullable() }),
              ...errors,
            },
          },
        },
        async (req) => {
          const before = afterId(req.query.cursor);
          const page = await repo.deliveries(
            await s.owner(req, req.params),
            req.params.id,
            before,
            req.query.limit,
          );
          return {
            deliveries: page.rows,
            next_cursor: nextCursor(page.next),
          };
        },
      );

      app.post(
        `${s.prefix}/:id/deliveries/:delivery/retry`,
        {
          schema: {
            tags,
            summary:
              'Deliver again now: a finished delivery gets one more attempt, a pending one is brought forward',
            params: withId.extend({ delivery: idParam }),
            response: {
              202: z.object({ delivery: z.object({ id: z.number().int(), status: z.literal('pending') }) }),
              ...errors,
            },
          },
        },
        async (req, reply) => {
          const d = await repo.retry(await s.owner(req, req.params), req.params.id, req.params.delivery);
          return reply.code(202).send({ delivery: { id: d.id, status: 'pending' as const } });
        },
      );
    }
  };
}
