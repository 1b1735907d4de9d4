import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import type { Store } from '../db/schema.js';
import { AppError, type ErrorCode } from '../http/errors.js';
import { errorXml } from './error-xml.js';
import { XML_DECLARATION } from './order-xml.js';
import { esc } from './xml.js';
import { renderPage, servePage } from './export.js';
import { handleShipNotify } from './notify.js';
import { isCredentialParam } from '../http/credentials.js';
import { authenticateStore } from './store-auth.js';
import { Semaphore } from '../lib/semaphore.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The store connection a ShipNotice POST authenticated as (set before its body is read). */
    shipstationStore: Store | null;
  }
}

/** ShipNotice bodies are small; anything beyond this is not ShipStation. */
export const SHIPSTATION_BODY_LIMIT = 1024 * 1024;

export const XML_TYPE = 'text/xml; charset=utf-8';

/** Every answer of the endpoint: never cached by a proxy or a page cache (FM9). */
const NO_CACHE = {
  'content-type': XML_TYPE,
  'cache-control': 'no-store, no-cache, must-revalidate',
  pragma: 'no-cache',
};

const querySchema = z
  .looseObject({
    action: z.string().optional().describe('export (GET) or shipnotify (POST)'),
    start_date: z
      .string()
      .optional()
      .describe('export: MM/dd/yyyy HH:mm, in the store time zone (UTC by default)'),
    end_date: z.string().optional().describe('export: MM/dd/yyyy HH:mm, inclusive to the end of the minute'),
    page: z.string().optional().describe('export: 1-based page number (default 1)'),
    order_number: z.string().optional().describe('shipnotify: the OrderNumber'),
    carrier: z.string().optional(),
    service: z.string().optional(),
    tracking_number: z.string().optional(),
    'SS-UserName': z.string().optional().describe('store username, when no Authorization header is sent'),
    'SS-Password': z.string().optional().describe('store password, when no Authorization header is sent'),
  })
  .describe('ShipStation Custom Store query');

const xmlBody = z.string().describe('an XML document (text/xml; charset=utf-8)');

function sendXml(reply: FastifyReply, status: number, xml: string): string {
  reply.code(status).headers(NO_CACHE);
  return xml;
}

/** The errors of this scope are short XML documents ShipStation (and a person) can read. */
function xmlErrorHandler(err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply) {
  let status: number;
  let code: ErrorCode;
  let message: string;
  if (err instanceof AppError) {
    status = err.statusCode;
    code = err.code;
    message = err.message;
    if (err.headers) reply.headers(err.headers);
  } else if (hasZodFastifySchemaValidationErrors(err)) {
    status = 400;
    code = 'invalid_request';
    const first = err.validation[0];
    const field =
      first?.instancePath
        .split('/')
        .filter((s) => s !== '')
        .join('.') || 'query';
    message = `invalid query parameter ${field}: ${first?.message ?? 'invalid'} (send each parameter once)`;
  } else {
    const fcode = (err as FastifyError).code;
    const s = (err as FastifyError).statusCode ?? 500;
    if (fcode === 'FST_ERR_CTP_BODY_TOO_LARGE' || s === 413) {
      status = 413;
      code = 'payload_too_large';
      message = 'request body is larger than 1 MB; a ShipNotice is a few kilobytes';
    } else if (s >= 400 && s < 500) {
      status = 400;
      code = 'invalid_request';
      message = `malformed request: ${err.message}`;
    } else {
      req.log.error({ err, code: 'internal' }, 'unhandled error in the ShipStation endpoint');
      status = 500;
      code = 'internal';
      message = 'internal error; ShipStation may retry later';
    }
  }
  return sendXml(reply, status, errorXml(code, message));
}

const noticeCode = (status: number): ErrorCode =>
  status === 404 ? 'not_found' : status === 409 ? 'conflict' : status >= 500 ? 'internal' : 'invalid_request';

/** The query without credentials, first value of repeated parameters (for the stored notice). */
function queryWithoutCredentials(query: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (isCredentialParam(k)) continue;
    const value = Array.isArray(v) ? v[0] : v;
    if (typeof value === 'string') out[k] = value;
  }
  return out;
}

/**
 * The one URL of every store connection: `GET /shipstation?action=export…` and
 * `POST /shipstation?action=shipnotify…`. Registered in its own encapsulated scope: its body parser
 * takes any content type (or none) as a raw string up to 1 MB, and its errors are XML.
 */
export function shipstationRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  // Export pages served at once by this instance: a page holds its rows and its XML (a few MB at
  // page size 500) while it renders, so pages beyond the limit wait their turn instead of growing
  // the heap; half the database pool keeps the database and the renderer busy on a small machine.
  const exportSlots = new Semaphore(Math.max(2, Math.ceil(ctx.config.dbPoolSize / 2)));
  return async (app) => {
    app.decorateRequest('shipstationStore', null);
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: SHIPSTATION_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    app.setErrorHandler(xmlErrorHandler);

    app.get(
      '/shipstation',
      {
        exposeHeadRoute: false,
        schema: {
          tags: ['shipstation'],
          summary: 'ShipStation Custom Store: order export (action=export)',
          description:
            'Credentials of a store connection (Basic header or SS-UserName/SS-Password). Answers ' +
            '<Orders pages="N"> with the orders whose last_modified lies in the window, whatever their status.',
          querystring: querySchema,
          response: { 200: xmlBody, 400: xmlBody, 401: xmlBody, 429: xmlBody },
        },
      },
      async (req, reply) => {
        const store = await authenticateStore(ctx, req);
        const action = req.query.action;
        if (action !== 'export') {
          throw new AppError(
            'invalid_request',
            action === 'shipnotify'
              ? 'action=shipnotify must be sent with POST'
              : `unknown action "${action ?? ''}": GET takes action=export, POST takes action=shipnotify`,
          );
        }
        if (store.merchantDisabled) {
          // Nothing leaves while the merchant is disabled, and nothing is pinned: the orders are
          // exported as usual once it is enabled again. The same document as an empty window.
          req.logContext = { ...(req.logContext ?? {}), merchant_disabled: true };
          return sendXml(reply, 200, renderPage(store, [], 0));
        }
        const result = await exportSlots.run(() => servePage(ctx, store, req.query));
        ctx.metrics.exportPages.inc();
        ctx.metrics.exportOrders.inc(result.orders);
        req.logContext = {
          ...(req.logContext ?? {}),
          page: result.page,
          pages: result.pages,
          orders: result.orders,
        };
        return sendXml(reply, 200, result.xml);
      },
    );

    app.post(
      '/shipstation',
      {
        bodyLimit: SHIPSTATION_BODY_LIMIT,
        // Credentials before the body: an unauthenticated caller gets its 401 (and the connection
        // closed) without the server waiting for, or reading, a body it will never use.
        onRequest: async (req, reply) => {
          try {
            req.shipstationStore = await authenticateStore(ctx, req);
          } catch (err) {
            reply.header('connection', 'close');
            throw err;
          }
        },
        schema: {
          tags: ['shipstation'],
          summary: 'ShipStation Custom Store: shipment notice (action=shipnotify)',
          description: 'A <ShipNotice> XML body, whatever its content type. 200 when applied or repeated.',
          querystring: querySchema,
          response: { 200: xmlBody, 400: xmlBody, 401: xmlBody, 404: xmlBody, 413: xmlBody, 429: xmlBody },
        },
      },
      async (req, reply) => {
        const store = req.shipstationStore!;
        const action = req.query.action;
        if (action !== 'shipnotify') {
          throw new AppError(
            'invalid_request',
            action === 'export'
              ? 'action=export must be sent with GET'
              : `unknown action "${action ?? ''}": GET takes action=export, POST takes action=shipnotify`,
          );
        }
        const body = typeof req.body === 'string' ? req.body : '';
        const contentType = req.headers['content-type'] ?? null;
        const result = await handleShipNotify(ctx, store, {
          query: queryWithoutCredentials(req.query as Record<string, unknown>),
          body,
          contentType,
        }).catch((err: unknown) => {
          ctx.metrics.notices.inc({ outcome: 'error' });
          throw err;
        });
        ctx.metrics.notices.inc({ outcome: result.outcome });
        req.logContext = { ...(req.logContext ?? {}), notice: result.noticeId };
        if (result.status >= 200 && result.status < 300) {
          return sendXml(reply, result.status, okXml(result.message));
        }
        return sendXml(reply, result.status, errorXml(noticeCode(result.status), result.message));
      },
    );
  };
}

/** The answer to an applied (or repeated) notice: ShipStation only reads the 2xx status. */
function okXml(message: string): string {
  return `${XML_DECLARATION}<Ok><Message>${esc(message)}</Message></Ok>`;
}
