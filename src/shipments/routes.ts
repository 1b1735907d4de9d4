import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';

/** Placeholder: filled in by the shipments issue. */
export function shipmentsRoutes(_ctx: AppContext): FastifyPluginAsyncZod {
  return async () => {};
}
