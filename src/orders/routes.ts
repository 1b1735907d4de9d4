import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';

/** Placeholder: filled in by the orders issue. */
export function ordersRoutes(_ctx: AppContext): FastifyPluginAsyncZod {
  return async () => {};
}
