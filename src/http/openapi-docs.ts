import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * What each error status means, for the OpenAPI document: every route shares the error shape, so
 * the meaning of a status is written once here instead of "Default Response" on each route.
 * Success answers are described by their route (`.describe()` on the response schema).
 */
const STATUS_MEANING: Record<string, string> = {
  400: 'Bad input: the error names each field (details[].path) and the rule it breaks',
  401: 'No credentials, or wrong ones: send HTTP Basic api_user:api_key, or Bearer ADMIN_TOKEN',
  403: 'A valid credential on a route only the admin token may use',
  404: 'No such resource, or not one this credential may act on',
  409: 'The request conflicts with the current state; the message says which and what to do',
  413: 'The body is larger than 10 MB',
  415: 'Send JSON with Content-Type: application/json',
  429: 'Too many attempts; wait the Retry-After seconds',
  503: 'Not ready: the database does not answer or is not migrated yet',
};

type Transformed = ReturnType<typeof jsonSchemaTransform>;

/** jsonSchemaTransform, then a description on every response that has none. */
export const transformWithDescriptions: typeof jsonSchemaTransform = (input) => {
  const out: Transformed = jsonSchemaTransform(input);
  const response = (out.schema as { response?: Record<string, Record<string, unknown>> }).response;
  if (response) {
    for (const [status, schema] of Object.entries(response)) {
      if (typeof schema !== 'object' || schema === null || schema.description !== undefined) continue;
      const meaning = STATUS_MEANING[status];
      if (meaning !== undefined) response[status] = { ...schema, description: meaning };
    }
  }
  return out;
};
