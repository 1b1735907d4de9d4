import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  jsonSchemaTransformObject,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { installApiAuth } from './accounts/auth.js';
import { AccountsRepository } from './accounts/repository.js';
import { accountsRoutes } from './accounts/routes.js';
import type { Config } from './config.js';
import { consoleRoutes } from './console/routes.js';
import { ConsoleSessions } from './console/sessions.js';
import type { AppContext } from './context.js';
import type { Database } from './db/database.js';
import { healthRoutes } from './health/routes.js';
import { installErrorHandling } from './http/errors.js';
import { installInputDoor } from './http/input.js';
import { transformForDocs } from './http/openapi-docs.js';
import { responseSerializerCompiler } from './http/serializer.js';
import { installTransport, transportOptions } from './http/transport.js';
import { jobsRoutes } from './jobs/routes.js';
import type { SecretHasher } from './lib/secrets.js';
import { Metrics } from './metrics/metrics.js';
import { installMetrics } from './metrics/routes.js';
import { ordersRoutes } from './orders/routes.js';
import { shipmentsRoutes } from './shipments/routes.js';
import { noticeRoutes } from './shipstation/notice-routes.js';
import { orderXmlRoutes } from './shipstation/order-preview.js';
import { rulesRoutes } from './rules/routes.js';
import { shipstationRoutes } from './shipstation/routes.js';
import { storeTestRoutes } from './shipstation/test-connection.js';
import { sourcesRoutes } from './sources/routes.js';
import { storesRoutes } from './stores/routes.js';
import { summariesRoutes } from './summaries/routes.js';
import { webhooksRoutes } from './webhooks/routes.js';

export interface AppDeps {
  config: Config;
  database: Database;
  hasher: SecretHasher;
  logger: Logger;
  /** Optional name of the PostgreSQL schema migrations live in (tests). */
  schema?: string | undefined;
  /** The registry to use, when the caller shares it with the background jobs (server.ts). */
  metrics?: Metrics | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Extra fields for the one log line of this request (store id, credential…). */
    logContext: Record<string, unknown> | null;
  }
}

export const API_VERSION = '0.1.0';
export const BODY_LIMIT = 10 * 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One line per request is written by our own onResponse hook (with caller, store and timings).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Off: fastify would take the header as the id unchecked; genReqId reads and checks it instead.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    // Off by default: a forged X-Forwarded-For must not dodge or aim the per-(user, address) login limit.
    trustProxy: deps.config.trustProxy,
    // Time limits, Node-level error answers and closing (http/transport.ts).
    ...transportOptions(deps.config),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(responseSerializerCompiler(deps.config.checkResponses));
  installErrorHandling(app);

  app.decorateRequest('caller', null);
  app.decorateRequest('logContext', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  await installTransport(app, deps.config);
  // Every error line carries its code: read from the error body both error handlers wrote
  // (JSON `"code":"…"` or XML `<Code>…</Code>`), so no route has to remember it.
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      const code = /"code":"([a-z_]+)"|<Code>([a-z_]+)<\/Code>/.exec(payload.slice(0, 200));
      if (code) req.logContext = { ...(req.logContext ?? {}), code: code[1] ?? code[2] };
    }
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const caller = req.caller;
    // 5xx at error: something an operator must look at; everything else is the request's own story.
    req.log[reply.statusCode >= 500 ? 'error' : 'info'](
      {
        method: req.method,
        // The logger masks secret query values in every `url` field (lib/logger.ts).
        url: req.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        ...(caller ? { caller: caller.kind === 'admin' ? 'admin' : caller.apiUser } : {}),
        ...(req.logContext ?? {}),
      },
      'request',
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'shipbridge',
        version: API_VERSION,
        description:
          'Orders in from merchants and 3PL warehouses, out to ShipStation through its Custom Store protocol, ' +
          'and shipment confirmations back. Errors always have the shape {"error": {"code", "message", "details"}}.',
      },
      components: {
        securitySchemes: {
          basicAuth: { type: 'http', scheme: 'basic', description: 'api_user and api_key of a credential' },
          adminBearer: { type: 'http', scheme: 'bearer', description: 'the ADMIN_TOKEN of the server' },
        },
      },
      security: [{ basicAuth: [] }, { adminBearer: [] }],
    },
    transform: transformForDocs,
    transformObject: jsonSchemaTransformObject,
  });
  const metrics = deps.metrics ?? new Metrics(deps.database.poolStats);
  installMetrics(app, metrics, deps.config.metricsToken);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const accounts = new AccountsRepository(deps.database.db, deps.hasher, deps.logger);
  const ctx: AppContext = {
    config: deps.config,
    db: deps.database.db,
    engine: deps.database.engine,
    hasher: deps.hasher,
    accounts,
    metrics,
  };

  const sessions = new ConsoleSessions(
    ctx.db,
    deps.hasher,
    deps.config.adminToken,
    deps.config.publicUrl?.startsWith('https:') ?? false,
  );
  await app.register(healthRoutes(ctx, deps.schema));
  await app.register(consoleRoutes(ctx, sessions));
  await app.register(shipstationRoutes(ctx));
  await app.register(
    async (v1) => {
      installApiAuth(v1, accounts, deps.config.adminToken, (req) => sessions.authenticate(req));
      installInputDoor(v1);
      await v1.register(accountsRoutes(accounts));
      await v1.register(storesRoutes(ctx));
      await v1.register(storeTestRoutes(ctx));
      await v1.register(ordersRoutes(ctx));
      await v1.register(shipmentsRoutes(ctx));
      await v1.register(noticeRoutes(ctx));
      await v1.register(orderXmlRoutes(ctx));
      await v1.register(jobsRoutes(ctx));
      await v1.register(summariesRoutes(ctx));
      await v1.register(rulesRoutes(ctx));
      await v1.register(webhooksRoutes(ctx));
      await v1.register(sourcesRoutes(ctx));
    },
    { prefix: '/v1' },
  );
  return app;
}
