import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';

/** POST /v1/merchants/{merchant}/stores/{store}/test. PLACEHOLDER until the export work lands. */
export function storeTestRoutes(_ctx: AppContext): FastifyPluginAsyncZod {
  return async () => {};
}
