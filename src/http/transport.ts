import { type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import helmet from '@fastify/helmet';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

/**
 * What the HTTP server does before and around the routes: time limits, answers Node writes
 * itself (408, 431), the URL length limit (414), security headers, and draining on close.
 */

/** Longest URL (path and query) answered; beyond it 414. Below Node's 16 KB limit on a request head. */
export const MAX_URL_LENGTH = 8 * 1024;

/** The response headers every answer carries (Node-written ones too), besides the CSP. */
const FRAME_DENY = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' };

/**
 * The default Content-Security-Policy: what the API docs (swagger-ui at /docs: its own scripts and
 * styles, inline style attributes, data: images, fetches to this origin) need, and no framing.
 * JSON and XML answers are not rendered, so one policy serves every route; a route that serves
 * other HTML sets its own (route option `helmet: { contentSecurityPolicy: … }`, or the header).
 */
const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
};

/** For answers written straight to the socket: nothing is to be loaded from them at all. */
const RAW_CSP = "default-src 'none'; frame-ancestors 'none'";

const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'request_timeout',
    message: 'the request (head and body) did not arrive in time; send it again',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'headers_too_large',
    message: 'the request line and headers together are larger than 16 KB',
  },
};

const BAD_REQUEST = { status: 400, code: 'invalid_request', message: 'malformed HTTP request' };

/**
 * Errors Node's HTTP parser meets before any route runs (timeouts, oversized heads, bad syntax):
 * answered in the API's error shape, with the security headers, then the connection is closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = CLIENT_ERRORS[err.code ?? ''] ?? BAD_REQUEST;
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  const head = [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    `Content-Security-Policy: ${RAW_CSP}`,
    ...Object.entries(FRAME_DENY).map(([k, v]) => `${k}: ${v}`),
  ];
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  socket.destroySoon?.();
}

/** Fastify's server options for time limits and closing (spread into `Fastify({...})`). */
export function transportOptions(config: Config): FastifyHttpOptions<Server> {
  return {
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      // Node checks the two timeouts above on this period (30 s by default, which would make a
      // 10 s head timeout a 40 s one).
      connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
    },
    clientErrorHandler,
    // While closing, new requests on open connections get 503 and `Connection: close`.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  };
}

/** Security headers, the URL limit and keep-alive draining on close, for every route. */
export async function installTransport(app: FastifyInstance, config: Config): Promise<void> {
  const https = config.publicUrl?.startsWith('https:') ?? false;
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: https ? { ...CSP_DIRECTIVES, 'upgrade-insecure-requests': [] } : CSP_DIRECTIVES,
    },
    frameguard: { action: 'deny' },
    // Only when the service is reached over https: over http the header is ignored, and on a
    // shared host name it would bind other services to https too.
    strictTransportSecurity: https ? { maxAge: 31536000, includeSubDomains: false } : false,
  });

  app.addHook('onRequest', async (req, reply) => {
    if (req.url.length > MAX_URL_LENGTH) {
      reply
        .code(414)
        .header('connection', 'close')
        .send({
          error: {
            code: 'uri_too_long',
            message: `the URL is ${req.url.length} characters; at most ${MAX_URL_LENGTH} are accepted`,
          },
        });
      return reply;
    }
  });

  // On close, Node closes the connections that are idle at that moment; one whose request is
  // still being answered would stay open after its answer until the keep-alive timeout (72 s),
  // past the shutdown grace. Answers sent while closing therefore close their connection.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async () => {
    // An answer whose headers were already out when closing began: its connection is idle now.
    if (closing) setImmediate(() => app.server.closeIdleConnections());
  });
}
