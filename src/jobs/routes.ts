import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { listQuery, timestamp } from '../http/common.js';
import { errorBodySchema } from '../http/errors.js';
import { afterId, nextCursor } from '../lib/cursor.js';
import { listJobs, summarize } from './queue.js';

const jobSchema = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    payload: z.record(z.string(), z.unknown()),
    status: z.enum(['pending', 'running', 'succeeded', 'failed']),
    run_at: timestamp.describe('pending: when it runs next; running: when its lease ends'),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    locked_by: z.string().nullable().describe('the instance running it'),
    last_error: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    finished_at: timestamp.nullable(),
  })
  .meta({ id: 'Job' });

/** The operator's view of background work: what is pending, running, failing, and when next. */
export function jobsRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/jobs',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['operations'],
          summary:
            'Background jobs: counts per kind and status with the next run, and the jobs themselves (admin)',
          security: [{ adminBearer: [] }],
          querystring: listQuery.extend({
            status: z.enum(['pending', 'running', 'succeeded', 'failed']).optional(),
            kind: z.string().max(100).optional(),
            failing: z
              .enum(['true', 'false'])
              .optional()
              .describe('true: only jobs whose last attempt failed'),
          }),
          response: {
            200: z.object({
              summary: z.array(
                z.object({
                  kind: z.string(),
                  status: z.string(),
                  count: z.number().int(),
                  next_run_at: timestamp.nullable(),
                }),
              ),
              jobs: z.array(jobSchema),
              next_cursor: z.string().nullable(),
            }),
            401: errorBodySchema,
            403: errorBodySchema,
          },
        },
      },
      async (req) => {
        const q = req.query;
        const page = await listJobs(ctx.db, {
          status: q.status,
          kind: q.kind,
          failing: q.failing === 'true',
          afterId: afterId(q.cursor),
          limit: q.limit,
        });
        return {
          summary: await summarize(ctx.db),
          jobs: page.rows,
          next_cursor: nextCursor(page.next),
        };
      },
    );
  };
}
