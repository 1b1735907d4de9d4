import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from './auth.js';
import type { AccountsRepository } from './repository.js';
import { codeSchema, listQuery, timestamp } from '../http/common.js';
import { afterId, nextCursor } from '../lib/cursor.js';
import { errorBodySchema } from '../http/errors.js';
import { enqueueReevaluation, type Reevaluation, reevaluationSchema } from '../rules/reevaluate.js';

const credentialSchema = z
  .object({ api_user: z.string(), api_key: z.string() })
  .meta({ id: 'IssuedCredential' });
const nameSchema = z.string().trim().min(1).max(100);
const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  404: errorBodySchema,
  409: errorBodySchema,
};

const merchantView = z
  .object({
    code: z.string(),
    name: z.string(),
    warehouse: z.string().nullable(),
    created_at: timestamp,
    normalise_addresses: z.boolean().describe('tidy ship-to and bill-to addresses (default on)'),
    disabled: z
      .boolean()
      .describe(
        'a disabled merchant cannot sign in (keys and console sessions answer 401), its sources and webhooks pause and its stores export empty pages; notices are still applied and nothing is deleted',
      ),
    disabled_at: timestamp.nullable(),
  })
  .meta({ id: 'Merchant' });
const warehouseView = z
  .object({ code: z.string(), name: z.string(), created_at: timestamp })
  .meta({ id: 'Warehouse' });
const credentialView = z
  .object({
    api_user: z.string(),
    scope: z.enum(['warehouse', 'merchant']),
    warehouse: z.string().nullable(),
    merchant: z.string().nullable(),
    label: z.string().nullable(),
    created_at: timestamp,
    revoked_at: timestamp.nullable(),
    last_used_at: timestamp.nullable(),
  })
  .meta({ id: 'Credential' });

export function accountsRoutes(accounts: AccountsRepository): FastifyPluginAsyncZod {
  return async (app) => {
    // Registered even without ADMIN_TOKEN: calling it then says that admin routes are off (403).
    app.post(
      '/warehouses',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['accounts'],
          summary: 'Create a warehouse (3PL) account and its first credential (admin)',
          security: [{ adminBearer: [] }],
          body: z.object({ code: codeSchema, name: nameSchema }),
          response: {
            201: z
              .object({ warehouse: warehouseView, credential: credentialSchema })
              .describe('The warehouse and its first credential (the api_key is shown only here)'),
            ...errors,
          },
        },
      },
      async (req, reply) =>
        reply.code(201).send(await accounts.createWarehouse(req.body.code, req.body.name)),
    );

    app.post(
      '/merchants',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Create a merchant (admin, or a warehouse for itself) and its first credential',
          body: z.object({ code: codeSchema, name: nameSchema, warehouse: codeSchema.optional() }),
          response: {
            201: z
              .object({ merchant: merchantView, credential: credentialSchema })
              .describe('The merchant and its first credential (the api_key is shown only here)'),
            ...errors,
          },
        },
      },
      async (req, reply) => reply.code(201).send(await accounts.createMerchant(callerOf(req), req.body)),
    );

    app.get(
      '/merchants',
      {
        schema: {
          tags: ['accounts'],
          summary: 'The merchants the caller may act on',
          querystring: listQuery,
          response: {
            200: z
              .object({ merchants: z.array(merchantView), next_cursor: z.string().nullable() })
              .describe('One page of the merchants this caller may act on'),
            ...errors,
          },
        },
      },
      async (req) => {
        const after = afterId(req.query.cursor);
        const { rows, next } = await accounts.listMerchants(callerOf(req), after, req.query.limit);
        return { merchants: rows, next_cursor: nextCursor(next) };
      },
    );

    app.get(
      '/merchants/:merchant',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Read a merchant',
          params: z.object({ merchant: codeSchema }),
          response: { 200: z.object({ merchant: merchantView }), ...errors },
        },
      },
      async (req) => ({ merchant: await accounts.getMerchant(callerOf(req), req.params.merchant) }),
    );

    app.patch(
      '/merchants/:merchant',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Rename a merchant, switch address normalisation, disable or enable it',
          description:
            "Only the operator or the merchant's warehouse may set `disabled`. A disabled merchant keeps all its " +
            'data: its credentials and console sessions answer 401, its sources and webhooks pause, its stores ' +
            'answer ShipStation with an empty order list, and shipment notices are still stored and applied. ' +
            'Enabling it restores everything (paused work resumes within a minute), and the orders ' +
            "that changed meanwhile are exported at ShipStation's next import. Switching normalise_addresses " +
            're-evaluates the open orders no store has served yet, in the background (`reevaluation`).',
          params: z.object({ merchant: codeSchema }),
          body: z
            .strictObject({
              name: nameSchema.optional(),
              normalise_addresses: z.boolean().optional(),
              disabled: z.boolean().optional(),
            })
            .meta({ example: { disabled: true } }),
          response: {
            200: z
              .object({
                merchant: merchantView,
                reevaluation: reevaluationSchema.optional().meta({
                  description: 'when normalise_addresses changed: the re-evaluation of open orders',
                }),
              })
              .describe('The merchant as it is now'),
            ...errors,
          },
        },
      },
      async (req) => {
        const started: { reevaluation?: Reevaluation } = {};
        const merchant = await accounts.updateMerchant(
          callerOf(req),
          req.params.merchant,
          req.body,
          async (trx, id) => {
            started.reevaluation = await enqueueReevaluation(trx, { kind: 'merchant', id });
          },
        );
        return { merchant, ...started };
      },
    );

    // Registered even without ADMIN_TOKEN: calling it then says that admin routes are off (403).
    app.get(
      '/warehouses',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['accounts'],
          summary: 'Every warehouse (admin)',
          security: [{ adminBearer: [] }],
          querystring: listQuery,
          response: {
            200: z.object({ warehouses: z.array(warehouseView), next_cursor: z.string().nullable() }),
            ...errors,
          },
        },
      },
      async (req) => {
        const after = afterId(req.query.cursor);
        const { rows, next } = await accounts.listWarehouses(after, req.query.limit);
        return { warehouses: rows, next_cursor: nextCursor(next) };
      },
    );

    app.get(
      '/warehouses/:warehouse',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Read a warehouse (admin, or the warehouse itself)',
          params: z.object({ warehouse: codeSchema }),
          response: { 200: z.object({ warehouse: warehouseView }), ...errors },
        },
      },
      async (req) => ({ warehouse: await accounts.getWarehouse(callerOf(req), req.params.warehouse) }),
    );

    app.patch(
      '/warehouses/:warehouse',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Rename a warehouse (admin, or the warehouse itself)',
          params: z.object({ warehouse: codeSchema }),
          body: z
            .strictObject({ name: nameSchema.optional() })
            .meta({ example: { name: 'Acme Fulfilment' } }),
          response: { 200: z.object({ warehouse: warehouseView }), ...errors },
        },
      },
      async (req) => ({
        warehouse: await accounts.updateWarehouse(callerOf(req), req.params.warehouse, req.body),
      }),
    );

    app.get(
      '/credentials',
      {
        schema: {
          tags: ['accounts'],
          summary: "The caller's credentials and those of the merchants it owns (never the keys)",
          querystring: listQuery,
          response: {
            200: z
              .object({ credentials: z.array(credentialView), next_cursor: z.string().nullable() })
              .describe('One page of the credentials this caller manages, never their keys'),
            ...errors,
          },
        },
      },
      async (req) => {
        const after = afterId(req.query.cursor);
        const { rows, next } = await accounts.listCredentials(callerOf(req), after, req.query.limit);
        return { credentials: rows, next_cursor: nextCursor(next) };
      },
    );

    const labelBody = z.object({ label: z.string().trim().max(100).optional() }).nullish();

    app.post(
      '/merchants/:merchant/credentials',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Create another credential for a merchant (shown once)',
          params: z.object({ merchant: codeSchema }),
          body: labelBody,
          response: {
            201: credentialSchema.describe('The new credential (the api_key is shown only here)'),
            ...errors,
          },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(await accounts.createMerchantCredential(callerOf(req), req.params.merchant, req.body?.label)),
    );

    app.post(
      '/warehouses/:warehouse/credentials',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Create another credential for a warehouse (shown once)',
          params: z.object({ warehouse: codeSchema }),
          body: labelBody,
          response: {
            201: credentialSchema.describe('The new credential (the api_key is shown only here)'),
            ...errors,
          },
        },
      },
      async (req, reply) =>
        reply
          .code(201)
          .send(
            await accounts.createWarehouseCredential(callerOf(req), req.params.warehouse, req.body?.label),
          ),
    );

    app.delete(
      '/credentials/:api_user',
      {
        schema: {
          tags: ['accounts'],
          summary: 'Revoke a credential; it stops working at once',
          params: z.object({ api_user: z.string().min(1).max(100) }),
          response: { 204: z.null().describe('Revoked: the credential stops working at once'), ...errors },
        },
      },
      async (req, reply) => {
        await accounts.revokeCredential(callerOf(req), req.params.api_user);
        return reply.code(204).send(null);
      },
    );
  };
}
