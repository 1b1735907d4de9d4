import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { installApiAuth } from './accounts/auth.js';
import { AccountsRepository } from './accounts/repository.js';
import { accountsRoutes } from './accounts/routes.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import type { Database } from './db/database.js';
import { healthRoutes } from './health/routes.js';
import { installErrorHandling } from './http/errors.js';
import { jobsRoutes } from './jobs/routes.js';
import { redactUrl } from './lib/logger.js';
import type { SecretHasher } from './lib/secrets.js';
import { ordersRoutes } from './orders/routes.js';
import { shipmentsRoutes } from './shipments/routes.js';
import { shipstationRoutes } from './shipstation/routes.js';
import { storeTestRoutes } from './shipstation/test-connection.js';
import { storesRoutes } from './stores/routes.js';
import { webhooksRoutes } from './webhooks/routes.js';

export interface AppDeps {
  config: Config;
  database: Database;
  hasher: SecretHasher;
  logger: Logger;
  /** Optional name of the PostgreSQL schema migrations live in (tests). */
  schema?: string | undefined;
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
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    // Off by default: a forged X-Forwarded-For must not dodge or aim the per-(user, address) login limit.
    trustProxy: deps.config.trustProxy,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);

  app.decorateRequest('caller', null);
  app.decorateRequest('logContext', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const caller = req.caller;
    req.log.info(
      {
        method: req.method,
        url: redactUrl(req.url),
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
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const accounts = new AccountsRepository(deps.database.db, deps.hasher);
  const ctx: AppContext = {
    config: deps.config,
    db: deps.database.db,
    engine: deps.database.engine,
    hasher: deps.hasher,
    accounts,
  };

  await app.register(healthRoutes(ctx, deps.schema));
  await app.register(shipstationRoutes(ctx));
  await app.register(
    async (v1) => {
      installApiAuth(v1, accounts, deps.config.adminToken);
      await v1.register(accountsRoutes(accounts, deps.config.adminToken !== undefined));
      await v1.register(storesRoutes(ctx));
      await v1.register(storeTestRoutes(ctx));
      await v1.register(ordersRoutes(ctx));
      await v1.register(shipmentsRoutes(ctx));
      await v1.register(jobsRoutes(ctx));
      await v1.register(webhooksRoutes(ctx));
    },
    { prefix: '/v1' },
  );
  return app;
}
