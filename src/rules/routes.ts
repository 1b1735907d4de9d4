/**
 * HTTP routes of the rules: the same five routes under a merchant and under a warehouse, the
 * merchant's address-normalisation setting, and the preview (which stores nothing).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../accounts/auth.js';
import { type Caller, mayActOnWarehouse } from '../accounts/caller.js';
import type { AppContext } from '../context.js';
import { CLOSED_STATUSES, RULES_APPLY_TO } from '../domain/lifecycle.js';
import { codeSchema, idParam, idValue } from '../http/common.js';
import { errorBodySchema, invalid, notFound } from '../http/errors.js';
import { issueDetails } from '../http/errors.js';
import { bodyByHandler } from '../orders/routes.js';
import { previewOrder } from '../orders/service.js';
import { effectiveSchema, ruleHoldSchema } from './effective.js';
import { parseRule, parseRulePatch, type RuleParse, ruleCreateSchema, rulePatchSchema } from './model.js';
import { JOB_STATES, reevaluationSchema, reevaluationStatus } from './reevaluate.js';
import { type OwnerRef, RulesRepository } from './repository.js';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

const ruleSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    owner: z.enum(['merchant', 'warehouse']),
    enabled: z.boolean(),
    position: z.number().int().meta({ description: '1-based; merchant rules run before warehouse rules' }),
    when: z.array(
      z.object({
        field: z.string(),
        op: z.string(),
        value: z.unknown().optional(),
        ignore_case: z.boolean().optional(),
      }),
    ),
    // Answered as stored; the request schema documents each action.
    then: z.array(z.record(z.string(), z.unknown())),
    stop: z.boolean(),
    created_at: z.date(),
    updated_at: z.date(),
    invalid_reason: z
      .string()
      .nullable()
      .meta({
        description:
          'null while the rule holds as written. Set when a store connection its route_to_store names is retired ' +
          '(with a rule_invalid alert): the rule still runs, and the orders it routes stay unrouted with a reason ' +
          'naming it. Saving the rule with a live store (or deleting it) clears it and dismisses the alert.',
      }),
  })
  .meta({ id: 'Rule' });

const RULE_EXAMPLE = {
  name: 'Map cart shipping methods',
  when: [{ field: 'order_source', op: 'equals', value: 'shopify-us' }],
  then: [
    {
      type: 'map_shipping_method',
      map: { 'Standard Shipping': 'UPS Ground', Express: 'UPS Next Day Air' },
      unmapped: 'hold',
    },
  ],
  stop: false,
};

const reevaluationStatusSchema = z
  .object({
    id: z.number().int(),
    state: z
      .enum(JOB_STATES)
      .meta({ description: 'pending, running, succeeded or failed (after its retries)' }),
    seen: z.number().int().meta({ description: 'open, unserved orders re-evaluated so far' }),
    changed: z.number().int().meta({ description: 'of those, orders whose effective form changed' }),
    merchants: z.number().int().meta({ description: 'merchants whose orders the job covers' }),
    created_at: z.date(),
    finished_at: z.date().nullable(),
    error: z.string().nullable().meta({ description: 'the last failure, while retrying or once failed' }),
  })
  .meta({
    id: 'ReevaluationStatus',
    examples: [
      {
        id: 42,
        state: 'succeeded',
        seen: 1200,
        changed: 310,
        merchants: 1,
        created_at: '2026-12-03T10:00:00.000Z',
        finished_at: '2026-12-03T10:00:01.200Z',
        error: null,
      },
    ],
  });

const createBody = ruleCreateSchema.meta({ id: 'RuleCreate', examples: [RULE_EXAMPLE] });
const patchBody = rulePatchSchema.meta({ id: 'RulePatch', examples: [{ enabled: false }] });

export function rulesRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  const rules = new RulesRepository(ctx.db);

  async function merchantOwner(caller: Caller, code: string) {
    const m = await ctx.accounts.merchantFor(caller, code);
    return { owner: { kind: 'merchant', id: m.id } satisfies OwnerRef, merchant: m };
  }

  async function warehouseOwner(caller: Caller, code: string): Promise<OwnerRef> {
    const w = await ctx.db.selectFrom('warehouses').select('id').where('code', '=', code).executeTakeFirst();
    if (!w || !mayActOnWarehouse(caller, Number(w.id))) throw notFound(`warehouse '${code}'`);
    return { kind: 'warehouse', id: Number(w.id) };
  }

  /** The body validated by the model, so that every refusal names its path (unknown fields too). */
  function valid<T>(r: RuleParse<T>): T {
    if (!r.ok) throw invalid('invalid rule', r.details);
    return r.value;
  }

  return async (app) => {
    for (const kind of ['merchant', 'warehouse'] as const) {
      // The path names the owner as every other route does (:merchant, :warehouse), so the API's
      // authorisation of the path runs before the body is read; handlers see it as `owner`.
      const base = kind === 'merchant' ? '/merchants/:merchant/rules' : '/warehouses/:warehouse/rules';
      const tag = ['rules'];
      const resolve = async (caller: Caller, code: string): Promise<OwnerRef> =>
        kind === 'merchant' ? (await merchantOwner(caller, code)).owner : warehouseOwner(caller, code);
      const code = codeSchema.meta({ description: `the ${kind}'s code` });
      const ownerParams =
        kind === 'merchant'
          ? z.object({ merchant: code }).transform((p) => ({ owner: p.merchant }))
          : z.object({ warehouse: code }).transform((p) => ({ owner: p.warehouse }));
      const ruleParams =
        kind === 'merchant'
          ? z
              .object({ merchant: code, rule: idParam })
              .transform((p) => ({ owner: p.merchant, rule: p.rule }))
          : z
              .object({ warehouse: code, rule: idParam })
              .transform((p) => ({ owner: p.warehouse, rule: p.rule }));
      const who =
        kind === 'merchant' ? "the merchant's" : "the warehouse's (they run for each of its merchants)";

      app.get(
        base,
        {
          schema: {
            tags: tag,
            summary: `List ${who} rules in the order they run`,
            params: ownerParams,
            response: { 200: z.object({ rules: z.array(ruleSchema) }), ...errors },
          },
        },
        async (req) => ({ rules: await rules.list(await resolve(callerOf(req), req.params.owner)) }),
      );

      app.post(
        base,
        {
          schema: {
            tags: tag,
            summary: `Create one of ${who} rules (validated: a condition its field does not allow is refused)`,
            description:
              'position (1-based) places the rule; without it the rule runs last. route_to_store is allowed only in ' +
              "a merchant's rules and must name a live store connection of that merchant.",
            params: ownerParams,
            body: createBody,
            response: { 201: z.object({ rule: ruleSchema, reevaluation: reevaluationSchema }), ...errors },
          },
          validatorCompiler: bodyByHandler,
        },
        async (req, reply) => {
          const owner = await resolve(callerOf(req), req.params.owner);
          const input = valid(parseRule(req.body as unknown, kind));
          const { value, reevaluation } = await rules.create(owner, input);
          return reply.code(201).send({ rule: value, reevaluation });
        },
      );

      app.put(
        `${base}/order`,
        {
          schema: {
            tags: tag,
            summary: `Re-order ${who} rules: ids lists every rule once, first to run first`,
            params: ownerParams,
            body: z
              .strictObject({ ids: z.array(idValue).max(1000) })
              .meta({ examples: [{ ids: [3, 1, 2] }] }),
            response: {
              200: z.object({ rules: z.array(ruleSchema), reevaluation: reevaluationSchema }),
              ...errors,
            },
          },
        },
        async (req) => {
          const { value, reevaluation } = await rules.reorder(
            await resolve(callerOf(req), req.params.owner),
            req.body.ids,
          );
          return { rules: value, reevaluation };
        },
      );

      app.get(
        `${base}/:rule`,
        {
          schema: {
            tags: tag,
            summary: `One of ${who} rules`,
            params: ruleParams,
            response: { 200: z.object({ rule: ruleSchema }), ...errors },
          },
        },
        async (req) => ({
          rule: await rules.get(await resolve(callerOf(req), req.params.owner), req.params.rule),
        }),
      );

      app.patch(
        `${base}/:rule`,
        {
          schema: {
            tags: tag,
            summary: `Change one of ${who} rules (any field; position moves it; enabled switches it)`,
            params: ruleParams,
            body: patchBody,
            response: { 200: z.object({ rule: ruleSchema, reevaluation: reevaluationSchema }), ...errors },
          },
          validatorCompiler: bodyByHandler,
        },
        async (req) => {
          const owner = await resolve(callerOf(req), req.params.owner);
          const patch = valid(parseRulePatch(req.body as unknown, kind));
          const { value, reevaluation } = await rules.update(owner, req.params.rule, patch);
          return { rule: value, reevaluation };
        },
      );

      app.get(
        `${base}/jobs/:job`,
        {
          schema: {
            tags: tag,
            summary: `Follow a re-evaluation of open orders after a change of ${who} rules`,
            params:
              kind === 'merchant'
                ? z
                    .object({ merchant: code, job: idParam })
                    .transform((p) => ({ owner: p.merchant, job: p.job }))
                : z
                    .object({ warehouse: code, job: idParam })
                    .transform((p) => ({ owner: p.warehouse, job: p.job })),
            response: {
              200: z.object({ reevaluation: reevaluationStatusSchema }).describe('where the job is'),
              ...errors,
            },
          },
        },
        async (req) => ({
          reevaluation: await reevaluationStatus(
            ctx.db,
            await resolve(callerOf(req), req.params.owner),
            req.params.job,
          ),
        }),
      );

      app.delete(
        `${base}/:rule`,
        {
          schema: {
            tags: tag,
            summary: `Delete one of ${who} rules; the others close up`,
            description:
              'Open orders are re-evaluated without the rule in the background, as after any other change: ' +
              'the answer carries that re-evaluation, to follow at GET …/rules/jobs/{id}.',
            params: ruleParams,
            response: {
              200: z.object({ reevaluation: reevaluationSchema }).describe('deleted'),
              ...errors,
            },
          },
        },
        async (req) => {
          const { reevaluation } = await rules.remove(
            await resolve(callerOf(req), req.params.owner),
            req.params.rule,
          );
          return { reevaluation };
        },
      );
    }

    const merchantParams = z.object({ merchant: codeSchema }).transform((p) => ({ owner: p.merchant }));
    const previewAnswer = z
      .looseObject({
        effective: effectiveSchema,
        routing: z.object({
          store_id: z.number().int().nullable(),
          reason: z.string().nullable(),
        }),
        status: z.string().meta({ description: 'the status the order would be created with / has' }),
        holds: z.array(ruleHoldSchema),
        applies: z.boolean().meta({
          description:
            'whether rules still change the order: true for an order body; for a stored order, true while no ' +
            `store has served it and its status is ${RULES_APPLY_TO.join(', ')} (false once served, ` +
            `${CLOSED_STATUSES.join(', ')})`,
        }),
      })
      .meta({
        id: 'RulePreview',
        description:
          'The order as sent (its fields at the top level), with what the current rules would make of it',
      });

    app.post(
      '/merchants/:merchant/rules/preview',
      {
        schema: {
          tags: ['rules'],
          summary: "What the merchant's (and its warehouse's) current rules do to an order; stores nothing",
          description:
            'Send an order body (as for POST …/orders) or {"order_id": N} for a stored order. The answer is the ' +
            'order as sent plus effective (the rewritten fields, applied rules and changes), routing (the store ' +
            'the order would go to, or why none), the holds the rules place and the status it would be created with.',
          params: merchantParams,
          body: z.record(z.string(), z.unknown()).meta({
            examples: [{ order_id: 42 }],
            description: 'an order (see NewOrder) or {"order_id": N}',
          }),
          response: { 200: previewAnswer, ...errors },
        },
      },
      async (req) => {
        const { merchant } = await merchantOwner(callerOf(req), req.params.owner);
        const body = req.body;
        let input: { order: unknown } | { orderId: number };
        if (Object.keys(body).length === 1 && 'order_id' in body) {
          const id = idValue.safeParse(body.order_id);
          if (!id.success) throw invalid('invalid order_id', issueDetails(id.error.issues, ['order_id']));
          input = { orderId: id.data };
        } else {
          input = { order: body };
        }
        const p = await previewOrder(ctx.db, { id: merchant.id, code: merchant.code }, input);
        return {
          ...p.base,
          effective: p.effective,
          routing: p.routing,
          status: p.status,
          holds: p.holds,
          applies: p.applies,
        };
      },
    );
  };
}
