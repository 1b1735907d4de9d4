import { sql } from 'kysely';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { isMigrated } from '../db/migrate.js';

/** Liveness and readiness, for load balancers and Docker's HEALTHCHECK. */
export function healthRoutes(ctx: AppContext, schema?: string): FastifyPluginAsyncZod {
  return async (app) => {
    let migrated = false;
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['health'],
          summary: 'The process is alive',
          security: [],
          response: { 200: z.object({ status: z.literal('ok') }).describe('The process is alive') },
        },
      },
      async () => ({ status: 'ok' as const }),
    );
    app.get(
      '/readyz',
      {
        schema: {
          tags: ['health'],
          summary: 'The database answers and is migrated',
          security: [],
          response: {
            200: z
              .object({ status: z.literal('ready'), database: z.string() })
              .describe('The database answers and is migrated'),
            503: z.object({ status: z.literal('unavailable'), reason: z.string() }),
          },
        },
      },
      async (_req, reply) => {
        try {
          await sql`select 1`.execute(ctx.db);
          if (!migrated) migrated = await isMigrated(ctx.db, schema);
          if (!migrated)
            return reply.code(503).send({ status: 'unavailable', reason: 'database is not migrated' });
          return { status: 'ready' as const, database: ctx.engine };
        } catch (e) {
          return reply
            .code(503)
            .send({ status: 'unavailable', reason: `database unreachable: ${(e as Error).message}` });
        }
      },
    );
  };
}
