/**
 * Rules: what a rule is, and how a saved rule is validated (pure: no SQL, no HTTP).
 *
 * FIELDS is the one table of condition fields → value kind, and KIND_OPERATORS the operators each
 * kind allows. Validation reads them, evaluate.ts reads them, and the README table is checked
 * against them by test/rules/readme-table.test.ts — so the published table cannot drift.
 */
import { z } from 'zod';
import type { ErrorDetail } from '../http/errors.js';
import { formatPath } from '../http/errors.js';
import { parseMoneyInput } from '../lib/money.js';

/** The kinds of value a condition field holds; each allows its own operators. */
export type FieldKind = 'text' | 'tags' | 'sku' | 'boolean' | 'money' | 'count' | 'weight';

export const OPERATORS = [
  'equals',
  'not_equals',
  'in',
  'not_in',
  'contains',
  'starts_with',
  'ends_with',
  'exists',
  'missing',
  'gt',
  'gte',
  'lt',
  'lte',
  'has_tag',
  'lacks_tag',
] as const;
export type Operator = (typeof OPERATORS)[number];

export const ADDRESS_FIELDS = [
  'name',
  'company',
  'street1',
  'street2',
  'street3',
  'city',
  'state',
  'postal_code',
  'country',
  'phone',
  'email',
] as const;
export type AddressField = (typeof ADDRESS_FIELDS)[number];

/** Every condition field, its kind, and what it reads (shown in the README table). */
export const FIELDS = {
  order_source: { kind: 'text', about: 'where the order came from' },
  order_number: { kind: 'text', about: "the merchant's order number" },
  tags: { kind: 'tags', about: 'the tags as earlier rules left them' },
  shipping_method: { kind: 'text', about: 'as earlier rules left it' },
  payment_method: { kind: 'text', about: 'as earlier rules left it' },
  requested_warehouse: { kind: 'text', about: 'as earlier rules left it' },
  'customer.code': { kind: 'text', about: '' },
  'customer.email': { kind: 'text', about: '' },
  ...Object.fromEntries(
    ADDRESS_FIELDS.flatMap((f) => [
      [`ship_to.${f}`, { kind: 'text', about: 'after address normalisation' }],
      [`bill_to.${f}`, { kind: 'text', about: 'after address normalisation' }],
    ]),
  ),
  'custom_fields[0]': { kind: 'text', about: 'as earlier rules left it' },
  'custom_fields[1]': { kind: 'text', about: 'as earlier rules left it' },
  'custom_fields[2]': { kind: 'text', about: 'as earlier rules left it' },
  gift: { kind: 'boolean', about: '' },
  order_total: { kind: 'money', about: 'as sent (or computed)' },
  amount_paid: { kind: 'money', about: '' },
  item_count: { kind: 'count', about: 'shippable lines (not adjustments, not excluded)' },
  total_quantity: { kind: 'count', about: 'units on shippable lines' },
  total_weight_grams: {
    kind: 'weight',
    about:
      'quantity × (weight + option weights) of shippable lines, in grams; missing when no line has a weight',
  },
  'items.sku': {
    kind: 'sku',
    about: 'some shippable line matches; with not_equals / not_in: no shippable line matches',
  },
} as const satisfies Record<string, { kind: FieldKind; about: string }>;

export type ConditionField = keyof typeof FIELDS;
export const CONDITION_FIELDS = Object.keys(FIELDS) as ConditionField[];

/** The operators each kind of field allows. The README table is generated from this. */
export const KIND_OPERATORS: Record<FieldKind, readonly Operator[]> = {
  text: ['equals', 'not_equals', 'in', 'not_in', 'contains', 'starts_with', 'ends_with', 'exists', 'missing'],
  tags: ['has_tag', 'lacks_tag', 'exists', 'missing'],
  sku: ['equals', 'not_equals', 'in', 'not_in', 'contains', 'starts_with', 'ends_with'],
  boolean: ['equals', 'not_equals'],
  money: ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'exists', 'missing'],
  count: ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte'],
  weight: ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'exists', 'missing'],
};

/** Kinds whose values are compared as text, so `ignore_case` means something. */
const TEXT_KINDS: ReadonlySet<FieldKind> = new Set(['text', 'tags', 'sku']);

/** What `value` must be for an operator on a kind: absent, a string, a list of strings, a number… */
type ValueShape = 'none' | 'string' | 'strings' | 'boolean' | 'money' | 'integer' | 'decimal';

export function valueShape(kind: FieldKind, op: Operator): ValueShape {
  if (op === 'exists' || op === 'missing') return 'none';
  if (op === 'in' || op === 'not_in') return 'strings';
  switch (kind) {
    case 'text':
    case 'tags':
    case 'sku':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'money':
      return 'money';
    case 'count':
      return 'integer';
    case 'weight':
      return 'decimal';
  }
}

const SHAPE_TEXT: Record<ValueShape, string> = {
  none: 'no value',
  string: 'a string',
  strings: 'a list of 1–1000 strings',
  boolean: 'true or false',
  money: 'an amount with at most two decimals',
  integer: 'an integer',
  decimal: 'a number ≥ 0 with at most two decimals',
};

/** A validated condition. Values are normalised: money and weights as two-decimal strings. */
export type Condition =
  | { field: ConditionField; op: 'exists' | 'missing' }
  | {
      field: ConditionField;
      op: Exclude<Operator, 'exists' | 'missing' | 'in' | 'not_in'>;
      value: string | number | boolean;
      ignore_case?: boolean;
    }
  | { field: ConditionField; op: 'in' | 'not_in'; value: string[]; ignore_case?: boolean };

/** Fields `set` and `default` may write, and their longest value (ShipStation's limits). */
export const SETTABLE_FIELDS = {
  shipping_method: 100,
  requested_warehouse: 100,
  'custom_fields[0]': 100,
  'custom_fields[1]': 100,
  'custom_fields[2]': 100,
  internal_notes: 1000,
  payment_method: 50,
} as const;
export type SettableField = keyof typeof SETTABLE_FIELDS;
const SETTABLE = Object.keys(SETTABLE_FIELDS) as [SettableField, ...SettableField[]];

const chars = (s: string) => [...s].length;
const text = (max: number) =>
  z
    .string()
    .trim()
    .refine((s) => chars(s) >= 1 && chars(s) <= max, `must be 1–${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

const tagList = z.array(text(100)).min(1, 'at least one tag').max(100, 'at most 100 tags');
const reason = text(500).optional();

const settable = z.enum(SETTABLE, `must be one of ${SETTABLE.join(', ')}`);

export const actionSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('set'), field: settable, value: text(1000).nullable() }),
    z.strictObject({ type: z.literal('default'), field: settable, value: text(1000) }),
    z
      .strictObject({
        type: z.literal('map_shipping_method'),
        map: z
          .record(text(100), text(100))
          .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 1000, '1–1000 entries'),
        unmapped: z
          .union([z.literal('keep'), z.literal('hold'), z.strictObject({ default: text(100) })], {
            message: 'must be "keep", "hold" or {"default": "method"}',
          })
          .default('keep'),
      })
      .superRefine((a, ctx) => {
        // A chain (A → B, B → C) would map an already mapped method again on re-evaluation: the
        // same order would end at B or C depending on how often it was mapped.
        for (const [from, to] of Object.entries(a.map)) {
          if (to !== from && Object.hasOwn(a.map, to) && a.map[to] !== to) {
            ctx.addIssue({
              code: 'custom',
              path: ['map', from],
              message: `maps to '${to}', which is itself mapped: map '${from}' straight to its final method`,
            });
          }
        }
        const d = typeof a.unmapped === 'object' ? a.unmapped.default : null;
        if (d !== null && Object.hasOwn(a.map, d) && a.map[d] !== d) {
          ctx.addIssue({
            code: 'custom',
            path: ['unmapped', 'default'],
            message: `'${d}' is itself mapped: give the method it maps to`,
          });
        }
      }),
    z.strictObject({ type: z.literal('add_tags'), tags: tagList }),
    z.strictObject({ type: z.literal('remove_tags'), tags: tagList }),
    z.strictObject({ type: z.literal('route_to_store'), store_id: z.number().int().positive() }),
    z.strictObject({ type: z.literal('skip'), reason }),
    z.strictObject({ type: z.literal('hold'), reason }),
    z.strictObject({ type: z.literal('set_status'), status: z.enum(['await_payment', 'new']) }),
    z.strictObject({
      type: z.literal('exclude_items'),
      skus: z.array(text(100)).min(1, 'at least one SKU').max(1000, 'at most 1000 SKUs'),
    }),
  ],
  {
    error: () =>
      'must be one of set, default, map_shipping_method, add_tags, remove_tags, route_to_store, skip, hold, set_status, exclude_items',
  },
);
export type Action = z.output<typeof actionSchema>;
export type ActionType = Action['type'];
export const ACTION_TYPES: readonly ActionType[] = [
  'set',
  'default',
  'map_shipping_method',
  'add_tags',
  'remove_tags',
  'route_to_store',
  'skip',
  'hold',
  'set_status',
  'exclude_items',
];

/** The structure of a condition; what its field allows is checked by checkCondition. */
const rawCondition = z.strictObject({
  field: z.string(),
  op: z.string(),
  value: z.unknown().optional(),
  ignore_case: z.boolean().optional(),
});

function checkValue(shape: ValueShape, value: unknown): { ok: true; value: unknown } | { ok: false } {
  switch (shape) {
    case 'none':
      return value === undefined ? { ok: true, value: undefined } : { ok: false };
    case 'string':
      return typeof value === 'string' && chars(value) >= 1 && chars(value) <= 1000
        ? { ok: true, value }
        : { ok: false };
    case 'strings':
      return Array.isArray(value) &&
        value.length >= 1 &&
        value.length <= 1000 &&
        value.every((v) => typeof v === 'string' && chars(v) <= 1000)
        ? { ok: true, value }
        : { ok: false };
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : { ok: false };
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value) ? { ok: true, value } : { ok: false };
    case 'money':
    case 'decimal': {
      const m = parseMoneyInput(value);
      if (m === undefined || (shape === 'decimal' && m.startsWith('-'))) return { ok: false };
      return { ok: true, value: m };
    }
  }
}

const conditionSchema = rawCondition.transform((c, ctx) => {
  const spec = (FIELDS as Record<string, { kind: FieldKind } | undefined>)[c.field];
  if (!spec) {
    ctx.addIssue({ code: 'custom', path: ['field'], message: `unknown field '${c.field}'` });
    return z.NEVER;
  }
  const allowed = KIND_OPERATORS[spec.kind];
  if (!(allowed as readonly string[]).includes(c.op)) {
    ctx.addIssue({
      code: 'custom',
      path: ['op'],
      message: `'${c.op}' does not apply to ${c.field} (${spec.kind}); use one of ${allowed.join(', ')}`,
    });
    return z.NEVER;
  }
  const op = c.op as Operator;
  const shape = valueShape(spec.kind, op);
  const v = checkValue(shape, c.value);
  if (!v.ok) {
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message:
        shape === 'none' ? `${op} takes no value` : `must be ${SHAPE_TEXT[shape]} for ${c.field} ${op}`,
    });
    return z.NEVER;
  }
  if (c.ignore_case !== undefined && (!TEXT_KINDS.has(spec.kind) || shape === 'none')) {
    ctx.addIssue({
      code: 'custom',
      path: ['ignore_case'],
      message: `applies only to text comparisons, not to ${c.field} ${op}`,
    });
    return z.NEVER;
  }
  const out: Record<string, unknown> = { field: c.field, op };
  if (shape !== 'none') out.value = v.value;
  if (c.ignore_case) out.ignore_case = true;
  return out as Condition;
});

/** Read-only fields of a rule answer: accepted and ignored, so an answered rule can be sent back. */
const readOnly = z.unknown().optional();

const ruleShape = {
  name: text(100),
  enabled: z.boolean().default(true),
  position: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('1-based place in the list; default: last. Past the end means last'),
  when: z.array(conditionSchema).max(50, 'at most 50 conditions').default([]),
  then: z.array(actionSchema).min(1, 'at least one action').max(50, 'at most 50 actions'),
  stop: z.boolean().default(false),
  id: readOnly,
  owner: readOnly,
  created_at: readOnly,
  updated_at: readOnly,
  invalid_reason: readOnly,
};

export const ruleCreateSchema = z.strictObject(ruleShape);
export const rulePatchSchema = z.strictObject({
  name: ruleShape.name.optional(),
  enabled: z.boolean().optional(),
  position: ruleShape.position,
  when: z.array(conditionSchema).max(50, 'at most 50 conditions').optional(),
  then: z.array(actionSchema).min(1, 'at least one action').max(50, 'at most 50 actions').optional(),
  stop: z.boolean().optional(),
  id: readOnly,
  owner: readOnly,
  created_at: readOnly,
  updated_at: readOnly,
  invalid_reason: readOnly,
});
export type RuleInput = z.output<typeof ruleCreateSchema>;
export type RulePatch = z.output<typeof rulePatchSchema>;

export type RuleOwner = 'merchant' | 'warehouse';

/** A rule as evaluation sees it. */
export interface Rule {
  id: number;
  name: string;
  owner: RuleOwner;
  enabled: boolean;
  position: number;
  when: Condition[];
  then: Action[];
  stop: boolean;
}

/** Checks that need to know who owns the rule; path names the offending action. */
export function ownerIssues(owner: RuleOwner, then: readonly Action[]): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  then.forEach((a, i) => {
    if (a.type === 'route_to_store' && owner !== 'merchant') {
      out.push({
        path: formatPath(['then', i, 'type']),
        message: "route_to_store is only allowed in a merchant's rules (stores belong to one merchant)",
      });
    }
  });
  return out;
}

/** zod issues of a rule body → error details naming the path (`when[1].op`). */
export function ruleIssueDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const i of issues) {
    const base = i.path as (string | number)[];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path: formatPath([...base, k]), message: 'unknown field' });
    } else {
      out.push({ path: formatPath(base) || '(root)', message: i.message });
    }
  }
  return out;
}

export type RuleParse<T> = { ok: true; value: T } | { ok: false; details: ErrorDetail[] };

export function parseRule(input: unknown, owner: RuleOwner): RuleParse<RuleInput> {
  const r = ruleCreateSchema.safeParse(input);
  if (!r.success) return { ok: false, details: ruleIssueDetails(r.error.issues) };
  const owned = ownerIssues(owner, r.data.then);
  return owned.length > 0 ? { ok: false, details: owned } : { ok: true, value: r.data };
}

export function parseRulePatch(input: unknown, owner: RuleOwner): RuleParse<RulePatch> {
  const r = rulePatchSchema.safeParse(input);
  if (!r.success) return { ok: false, details: ruleIssueDetails(r.error.issues) };
  const owned = r.data.then ? ownerIssues(owner, r.data.then) : [];
  return owned.length > 0 ? { ok: false, details: owned } : { ok: true, value: r.data };
}

const KIND_VALUE: Record<FieldKind, string> = {
  text: 'string; `in`/`not_in`: list of strings',
  tags: 'one tag',
  sku: 'string; `in`/`not_in`: list of strings',
  boolean: '`true` / `false`',
  money: 'amount, ≤ 2 decimals, compared exactly',
  count: 'integer',
  weight: 'grams, ≤ 2 decimals, compared exactly',
};

/** The README's table of condition fields, rendered from FIELDS and KIND_OPERATORS. */
export function fieldTableMarkdown(): string {
  const rows = CONDITION_FIELDS.map((f) => {
    const { kind, about } = FIELDS[f];
    const ops = KIND_OPERATORS[kind].map((o) => `\`${o}\``).join(', ');
    return `| \`${f}\` | ${kind} | ${ops} | ${KIND_VALUE[kind]} | ${about} |`;
  });
  return ['| field | kind | operators | value | notes |', '| --- | --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}
