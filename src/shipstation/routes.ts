import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';

/** Placeholder: filled in by the shipstation issue. */
export function shipstationRoutes(_ctx: AppContext): FastifyPluginAsyncZod {
  return async () => {};
}
