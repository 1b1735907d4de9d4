import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from './auth.js';
import type { AccountsRepository } from './repository.js';
import { codeSchema, listQuery, timestamp } from '../http/common.js';
import { decodeCursor, encodeCursor, isPositiveInt } from '../lib/cursor.js';
import { errorBodySchema } from '../http/errors.js';

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

const merchantView = z.object({
  code: z.string(),
  name: z.string(),
  warehouse: z.string().nullable(),
  created_at: timestamp,
});
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

export function accountsRoutes(accounts: AccountsRepository, adminEnabled: boolean): FastifyPluginAsyncZod {
  return async (app) => {
    if (adminEnabled) {
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
                .object({
                  warehouse: z.object({ code: z.string(), name: z.string(), created_at: timestamp }),
                  credential: credentialSchema,
                })
                .describe('The warehouse and its first credential (the api_key is shown only here)'),
              ...errors,
            },
          },
        },
        async (req, reply) =>
          reply.code(201).send(await accounts.createWarehouse(req.body.code, req.body.name)),
      );
    }

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
        const after = decodeCursor(req.query.cursor, isPositiveInt);
        const { rows, last } = await accounts.listMerchants(callerOf(req), after, req.query.limit);
        return {
          merchants: rows.map(({ id: _id, ...m }) => m),
          next_cursor: last === undefined ? null : encodeCursor(last),
        };
      },
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
        const after = decodeCursor(req.query.cursor, isPositiveInt);
        const { rows, last } = await accounts.listCredentials(callerOf(req), after, req.query.limit);
        return { credentials: rows, next_cursor: last === undefined ? null : encodeCursor(last) };
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
