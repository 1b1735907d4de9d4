import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The §6 error codes and the HTTP status each maps to. */
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

/** A domain error that knows its §6 code. Throw it anywhere; the error handler shapes the reply. */
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

/** The §6 error body, as a zod schema for OpenAPI. */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

export function errorBody(code: ErrorCode, message: string, details?: ErrorDetail[]) {
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}) } };
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

/** zod issues → §6 details, prefixed with where the value sat (body, query, params). */
export function zodDetails(
  issues: readonly z.core.$ZodIssue[],
  prefix: (string | number)[] = [],
): ErrorDetail[] {
  return issues.map((i) => ({ path: formatPath([...prefix, ...i.path]) || '(root)', message: i.message }));
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
      const details = err.validation.map((v) => {
        const segs = v.instancePath.split('/').filter((s) => s !== '');
        const prefix = where === 'body' ? [] : where ? [where === 'querystring' ? 'query' : where] : [];
        return {
          path: formatPath([...prefix, ...segs]) || where || '(root)',
          message: v.message ?? 'invalid',
        };
      });
      return reply
        .code(400)
        .send(
          errorBody(
            'invalid_request',
            `invalid ${where === 'querystring' ? 'query' : (where ?? 'request')}`,
            details,
          ),
        );
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
