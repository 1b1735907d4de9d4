import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';

/** Placeholder: filled in by the stores issue. */
export function storesRoutes(_ctx: AppContext): FastifyPluginAsyncZod {
  return async () => {};
}
