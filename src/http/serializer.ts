/**
 * How a JSON answer is written. The route's zod response schema is the contract, and the whole
 * test suite holds every answer to it; production writes the handler's value with JSON.stringify.
 *
 * Why not always encode with zod (fastify-type-provider-zod's serializer): it walks and copies
 * every answered object, and the copy it returns is several times slower to stringify than the
 * handler's plain objects. For a page of 100 orders that was most of the service's CPU per page.
 *
 * With `checkResponses` (CHECK_RESPONSES=true, which `npm test` sets) each answer is encoded with
 * its schema as before, and the answer production would write is compared with it: a value the
 * schema refuses, or a field the schema would drop, change or add (an extra key, a default), is a
 * 500 naming the route, so no test passes on an answer that differs from the contract.
 */
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';

type CompilerArgs = Parameters<typeof zodSerializerCompiler>[0];

export function responseSerializerCompiler(checkResponses: boolean): FastifySerializerCompiler<unknown> {
  if (!checkResponses) return () => (data) => JSON.stringify(data);
  return (route) => {
    const encode = zodSerializerCompiler(route as CompilerArgs);
    const { method, url } = route as { method: string; url: string };
    return (data) => {
      const encoded = encode(data);
      const written = JSON.stringify(data);
      const where = firstDifference(JSON.parse(written), JSON.parse(encoded), '');
      // The path only: values of an answer that should not have been written stay out of the error.
      if (where !== null)
        throw new Error(
          `the answer of ${method} ${url} differs from its response schema at '${where || '/'}'`,
        );
      return written;
    };
  };
}

/** The JSON path where two parsed JSON values first differ, or null when they are equal. */
function firstDifference(a: unknown, b: unknown, at: string): string | null {
  if (a === b) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return at;
  if (Array.isArray(a) !== Array.isArray(b)) return at;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if (!(k in ra) || !(k in rb)) return `${at}/${k}`;
    const d = firstDifference(ra[k], rb[k], `${at}/${k}`);
    if (d !== null) return d;
  }
  return null;
}
