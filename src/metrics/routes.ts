import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../http/errors.js';
import { logFailedSignIn } from '../lib/sign-in-log.js';
import { type Metrics, UNMATCHED_ROUTE } from './metrics.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Times every request (route template, never the raw URL) and, when a token is configured, serves
 * `GET /metrics` in Prometheus' text format behind `Authorization: Bearer <METRICS_TOKEN>`.
 */
export function installMetrics(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  app.addHook('onResponse', async (req, reply) => {
    metrics.requestDuration.observe(
      {
        method: req.method,
        route: req.routeOptions.url ?? UNMATCHED_ROUTE,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  if (token === undefined) return;
  const expected = digest(token);
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!bearer || !timingSafeEqual(digest(bearer[1]!.trim()), expected)) {
      if (bearer) logFailedSignIn(req, 'api', undefined, 'invalid metrics token');
      throw new AppError(
        'unauthorized',
        'send Authorization: Bearer with the METRICS_TOKEN of the server',
        undefined,
        {
          'www-authenticate': 'Bearer realm="metrics"',
        },
      );
    }
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
}
