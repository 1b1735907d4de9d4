import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The API's error codes and the HTTP status each maps to. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path: string;
  message: string;
}

/** A domain error that knows its API error code. Throw it anywhere; the error handler shapes the reply. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetail[], headers?: Record<string, string>) {
    super(message);
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  get statusCode(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const conflict = (message: string, details?: ErrorDetail[]) =>
  new AppError('conflict', message, details);
export const invalid = (message: string, details?: ErrorDetail[]) =>
  new AppError('invalid_request', message, details);

/** The API's one error body, as a zod schema for OpenAPI. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

/** An answer lists at most this many details: a body of a million bad fields must not answer 40 MB. */
export const MAX_DETAILS = 100;

/** The first MAX_DETAILS details, and the message saying how many more there are. */
export function capDetails(
  message: string,
  details: ErrorDetail[] | undefined,
): { message: string; details: ErrorDetail[] | undefined } {
  if (!details || details.length <= MAX_DETAILS) return { message, details };
  return {
    message: listedMessage(message, details.length, MAX_DETAILS),
    details: details.slice(0, MAX_DETAILS),
  };
}

/** "invalid order (437 errors; the first 100 are listed)" when not every error is listed. */
export function listedMessage(message: string, total: number, listed: number): string {
  return total > listed ? `${message} (${total} errors; the first ${listed} are listed)` : message;
}

export function errorBody(code: ErrorCode, message: string, details?: ErrorDetail[]) {
  const capped = capDetails(message, details);
  const d = capped.details;
  return { error: { code, message: capped.message, ...(d && d.length > 0 ? { details: d } : {}) } };
}

/** ['orders', 3, 'items', 0, 'quantity'] → 'orders[3].items[0].quantity' */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number' || (typeof seg === 'string' && /^\d+$/.test(seg))) out += `[${String(seg)}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** The parts of a zod issue the details are made of (fastify-type-provider-zod keeps them too). */
export interface IssueLike {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  keys?: readonly string[];
}

/**
 * zod issues → details, prefixed with where the value sat (query, params; nothing for the body).
 * The same shape on every route: an unknown field is one detail named by its own path; a missing
 * one "is required". Stops after `max` details (a million unknown keys are one issue).
 */
export function issueDetails(
  issues: readonly IssueLike[],
  prefix: (string | number)[] = [],
  max = Number.POSITIVE_INFINITY,
): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const i of issues) {
    const base = [...prefix, ...(i.path as (string | number)[])];
    const where = formatPath(base) || '(root)';
    if (i.code === 'unrecognized_keys' && i.keys) {
      for (const k of i.keys) {
        if (out.length >= max) break;
        out.push({ path: formatPath([...base, k]), message: 'unknown field' });
      }
    } else if (i.code === 'invalid_type' && /received undefined$/.test(i.message)) {
      out.push({ path: where, message: 'is required' });
    } else {
      out.push({ path: where, message: i.message });
    }
    if (out.length >= max) break;
  }
  return out;
}

/** How many details issueDetails would make of these issues (without making them). */
export function issueCount(issues: readonly IssueLike[]): number {
  let n = 0;
  for (const i of issues) n += i.code === 'unrecognized_keys' && i.keys ? i.keys.length : 1;
  return n;
}

/** Responses every error shares in the OpenAPI document. */
export const commonErrorResponses = {
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
};

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AppError) {
      if (err.headers) reply.headers(err.headers);
      return reply.code(err.statusCode).send(errorBody(err.code, err.message, err.details));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err as FastifyError).validationContext;
      const issues: IssueLike[] = err.validation.map((v) => ({
        ...(v.params as { keys?: string[] }),
        code: v.keyword,
        path: v.instancePath.split('/').filter((s) => s !== ''),
        message: v.message ?? 'invalid',
      }));
      const count = issueCount(issues);
      if (where === 'params') {
        // A path that names nothing is 404 on every route (an id of letters, a code too long…).
        const name = String(issues[0]?.path[0] ?? 'resource');
        const value = String((req.params as Record<string, unknown>)[name]);
        return reply
          .code(404)
          .send(errorBody('not_found', `${name} '${value}' not found`, issueDetails(issues, ['params'])));
      }
      const prefix = where === 'querystring' ? ['query'] : where === 'body' || !where ? [] : [where];
      const message = `invalid ${where === 'querystring' ? 'query' : (where ?? 'request')}`;
      const details = issueDetails(issues, prefix, MAX_DETAILS);
      return reply
        .code(400)
        .send(errorBody('invalid_request', listedMessage(message, count, details.length), details));
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err, code: 'internal' }, 'response did not match its schema');
      return reply.code(500).send(errorBody('internal', 'internal error'));
    }
    const status = (err as FastifyError).statusCode ?? 500;
    const fcode = (err as FastifyError).code;
    if (fcode === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return reply.code(413).send(errorBody('payload_too_large', 'request body is larger than 10 MB'));
    }
    if (fcode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
      return reply
        .code(415)
        .send(errorBody('unsupported_media_type', 'send JSON with Content-Type: application/json'));
    }
    if (status === 400 && fcode === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply
        .code(400)
        .send(errorBody('invalid_request', 'request body is empty; send a JSON document'));
    }
    if (status === 400 || err instanceof SyntaxError) {
      return reply.code(400).send(errorBody('invalid_request', `malformed request: ${err.message}`));
    }
    if (status === 401) return reply.code(401).send(errorBody('unauthorized', err.message));
    if (status === 429) return reply.code(429).send(errorBody('rate_limited', err.message));
    if (status >= 400 && status < 500) {
      return reply
        .code(status)
        .send(errorBody(status === 404 ? 'not_found' : 'invalid_request', err.message));
    }
    req.log.error({ err, code: 'internal' }, 'unhandled error');
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
