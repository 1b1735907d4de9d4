/**
 * Rule evaluation (pure): the order as sent + the rules → the effective order and what the rules
 * decided. No SQL, no clock, no randomness: the same inputs always give the same answer, so
 * re-evaluating an order whose inputs did not change changes nothing.
 *
 * Order of work: address normalisation (when the merchant has it on), then the merchant's enabled
 * rules by position, then the warehouse's. `stop` on a rule whose conditions held ends its owner's
 * list only. Every condition reads the order as earlier rules left it; a later action on the same
 * field overwrites an earlier one.
 */
import { toCents } from '../lib/money.js';
import type { Address, NormalizedItem, NormalizedOrder } from '../orders/types.js';
import {
  ADDRESS_FIELDS,
  type Action,
  type Condition,
  type ConditionField,
  FIELDS,
  type Rule,
  type RuleOwner,
  type SettableField,
} from './model.js';
import { normaliseAddress } from './normalise.js';

/** The fields rules and normalisation may change: what `effective` answers besides `rules`. */
export interface EffectiveFields {
  shipping_method: string | null;
  requested_warehouse: string | null;
  custom_fields: string[];
  internal_notes: string | null;
  payment_method: string | null;
  tags: string[];
  ship_to: Address;
  bill_to: Address;
  /** Positions (0-based) of the lines rules excluded, ascending. */
  excluded: number[];
}

export interface RuleRef {
  id: number;
  name: string;
  owner: RuleOwner;
}

export interface Change {
  path: string;
  from: unknown;
  to: unknown;
}

export interface RuleHold {
  rule: RuleRef;
  /** `unmapped_shipping_method` for a map's `unmapped: "hold"`; `hold` for the hold action. */
  kind: 'hold' | 'unmapped_shipping_method';
  reason: string;
}

export interface Evaluation {
  fields: EffectiveFields;
  /** Rules whose conditions held, in the order they ran. */
  applied: RuleRef[];
  /** Sent → effective, one entry per changed path (normalisation included). */
  changes: Change[];
  holds: RuleHold[];
  skip: { rule: RuleRef; reason: string | null } | null;
  route_to_store: { rule: RuleRef; store_id: number } | null;
  /** Only meaningful when the order is being created. */
  set_status: { rule: RuleRef; status: 'await_payment' | 'new' } | null;
}

export interface RuleSet {
  merchant: readonly Rule[];
  warehouse: readonly Rule[];
}

export interface EvaluateOptions {
  normaliseAddresses: boolean;
  /** Lines already excluded (re-evaluating an effective order); default none. */
  excluded?: readonly number[];
}

/** The fields of a sent order that effective may differ in. */
export function sentFields(order: NormalizedOrder): EffectiveFields {
  return {
    shipping_method: order.shipping_method,
    requested_warehouse: order.requested_warehouse,
    custom_fields: [...order.custom_fields],
    internal_notes: order.internal_notes,
    payment_method: order.payment_method,
    tags: [...order.tags],
    ship_to: { ...order.ship_to },
    bill_to: { ...order.bill_to },
    excluded: [],
  };
}

/**
 * The order with its effective fields in place of the sent ones (what the export renders); the
 * lines are left as they are (the export leaves excluded ones out itself).
 */
export function withEffective<T extends Omit<NormalizedOrder, 'items'>>(order: T, f: EffectiveFields): T {
  return {
    ...order,
    shipping_method: f.shipping_method,
    requested_warehouse: f.requested_warehouse,
    custom_fields: [...f.custom_fields],
    internal_notes: f.internal_notes,
    payment_method: f.payment_method,
    tags: [...f.tags],
    ship_to: { ...f.ship_to },
    bill_to: { ...f.bill_to },
  };
}

// ---------------------------------------------------------------- reading fields

const blank = (s: string | null | undefined): string | null => (s === undefined || s === '' ? null : s);

function customIndex(field: string): 0 | 1 | 2 | null {
  const m = field.startsWith('custom_fields[') ? Number(field.charAt(14)) : Number.NaN;
  return m === 0 || m === 1 || m === 2 ? m : null;
}

function readText(field: ConditionField, o: NormalizedOrder, f: EffectiveFields): string | null {
  const ci = customIndex(field);
  if (ci !== null) return blank(f.custom_fields[ci]);
  switch (field) {
    case 'order_source':
      return o.order_source;
    case 'order_number':
      return o.order_number;
    case 'shipping_method':
    case 'payment_method':
    case 'requested_warehouse':
      return blank(f[field]);
    case 'customer.code':
      return blank(o.customer.code);
    case 'customer.email':
      return blank(o.customer.email);
  }
  const [which, key] = field.split('.') as ['ship_to' | 'bill_to', keyof Address];
  return blank(f[which][key]);
}

/** Lines that ShipStation ships: not adjustments, not excluded. */
function shippable(o: NormalizedOrder, excluded: readonly number[]): NormalizedItem[] {
  return o.items.filter((it, i) => !it.adjustment && !excluded.includes(i));
}

// Re-evaluation runs the same rules over many orders: what depends only on a condition (its value
// in cents) or only on an order (its amounts in cents) is computed once. Keyed on the objects
// themselves, so nothing is kept once they are gone and nothing can go stale (both are immutable
// here: evaluate never writes to a rule or to the sent order).
const conditionCents = new WeakMap<Condition, bigint>();
function centsOf(c: Condition, value: unknown): bigint {
  let v = conditionCents.get(c);
  if (v === undefined) {
    v = toCents(value as string);
    conditionCents.set(c, v);
  }
  return v;
}
const orderCents = new WeakMap<NormalizedOrder, { total: bigint; paid: bigint | null }>();
function amountsOf(o: NormalizedOrder): { total: bigint; paid: bigint | null } {
  let v = orderCents.get(o);
  if (v === undefined) {
    v = { total: toCents(o.order_total), paid: o.amount_paid === null ? null : toCents(o.amount_paid) };
    orderCents.set(o, v);
  }
  return v;
}

/** Grams per unit × 10⁹, so weights with two decimals convert exactly (units of 10⁻¹¹ g). */
const NANOGRAMS_PER_UNIT = {
  g: 1_000_000_000n,
  kg: 1_000_000_000_000n,
  lb: 453_592_370_000n,
  oz: 28_349_523_125n,
};

/** Total weight of the shippable lines in 10⁻¹¹ g, or null when no line has a weight. */
export function totalWeight(items: readonly NormalizedItem[]): bigint | null {
  let total: bigint | null = null;
  for (const it of items) {
    const parts = [it.weight, ...it.options.map((op) => op.weight)].filter((w): w is string => w !== null);
    if (parts.length === 0 || it.weight_unit === null) continue;
    let per = 0n;
    for (const w of parts) per += toCents(w);
    total = (total ?? 0n) + per * BigInt(it.quantity) * NANOGRAMS_PER_UNIT[it.weight_unit];
  }
  return total;
}

// ---------------------------------------------------------------- conditions

function fold(s: string, ignoreCase: boolean): string {
  return ignoreCase ? s.toLowerCase() : s;
}

/** A positive text test: equals, in, contains, starts_with, ends_with (value present). */
function textMatch(op: string, actual: string, value: unknown, ic: boolean): boolean {
  const a = fold(actual, ic);
  switch (op) {
    case 'equals':
      return a === fold(value as string, ic);
    case 'in':
      return (value as string[]).some((v) => a === fold(v, ic));
    case 'contains':
      return a.includes(fold(value as string, ic));
    case 'starts_with':
      return a.startsWith(fold(value as string, ic));
    case 'ends_with':
      return a.endsWith(fold(value as string, ic));
  }
  throw new Error(`not a text match: ${op}`);
}

const NEGATED: Record<string, string> = { not_equals: 'equals', not_in: 'in' };

function compare(op: string, a: bigint, b: bigint): boolean {
  switch (op) {
    case 'equals':
      return a === b;
    case 'not_equals':
      return a !== b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
  }
  throw new Error(`not a comparison: ${op}`);
}

/** A number (money, count, weight) against the condition, missing values handled. */
function numberTest(op: string, actual: bigint | null, value: bigint | null): boolean {
  if (op === 'exists') return actual !== null;
  if (op === 'missing') return actual === null;
  if (actual === null || value === null) return op === 'not_equals';
  return compare(op, actual, value);
}

export function holds(c: Condition, o: NormalizedOrder, f: EffectiveFields): boolean {
  const kind = FIELDS[c.field].kind;
  const value = 'value' in c ? c.value : undefined;
  const ic = 'ignore_case' in c && c.ignore_case === true;
  switch (kind) {
    case 'text': {
      const actual = readText(c.field, o, f);
      if (c.op === 'exists') return actual !== null;
      if (c.op === 'missing') return actual === null;
      const positive = NEGATED[c.op];
      if (positive) return actual === null || !textMatch(positive, actual, value, ic);
      return actual !== null && textMatch(c.op, actual, value, ic);
    }
    case 'tags': {
      if (c.op === 'exists') return f.tags.length > 0;
      if (c.op === 'missing') return f.tags.length === 0;
      const has = f.tags.some((t) => textMatch('equals', t, value, ic));
      return c.op === 'has_tag' ? has : !has;
    }
    case 'sku': {
      const skus = shippable(o, f.excluded)
        .map((it) => it.sku)
        .filter((s): s is string => s !== null);
      const positive = NEGATED[c.op];
      if (positive) return !skus.some((s) => textMatch(positive, s, value, ic));
      return skus.some((s) => textMatch(c.op, s, value, ic));
    }
    case 'boolean':
      return c.op === 'equals' ? o.gift === value : o.gift !== value;
    case 'money': {
      const a = amountsOf(o);
      return numberTest(
        c.op,
        c.field === 'order_total' ? a.total : a.paid,
        value === undefined ? null : centsOf(c, value),
      );
    }
    case 'count': {
      const lines = shippable(o, f.excluded);
      const n = c.field === 'item_count' ? lines.length : lines.reduce((s, it) => s + it.quantity, 0);
      return numberTest(c.op, BigInt(n), value === undefined ? null : BigInt(value as number));
    }
    case 'weight': {
      const w = totalWeight(shippable(o, f.excluded));
      // value is grams with two decimals: cents × 10⁹ is the same 10⁻¹¹ g unit.
      return numberTest(c.op, w, value === undefined ? null : centsOf(c, value) * 1_000_000_000n);
    }
  }
}

// ---------------------------------------------------------------- actions

function readSettable(f: EffectiveFields, field: SettableField): string | null {
  const ci = customIndex(field);
  if (ci !== null) return blank(f.custom_fields[ci]);
  return f[field as 'shipping_method' | 'requested_warehouse' | 'internal_notes' | 'payment_method'];
}

function writeSettable(f: EffectiveFields, field: SettableField, value: string | null): void {
  const ci = customIndex(field);
  if (ci === null) {
    f[field as 'shipping_method' | 'requested_warehouse' | 'internal_notes' | 'payment_method'] = value;
    return;
  }
  // custom_fields is a list of up to three strings: pad with '' so the index lands where it belongs.
  while (f.custom_fields.length <= ci) f.custom_fields.push('');
  f.custom_fields[ci] = value ?? '';
  while (f.custom_fields.length > 0 && f.custom_fields[f.custom_fields.length - 1] === '')
    f.custom_fields.pop();
}

interface Decisions {
  holds: RuleHold[];
  skip: Evaluation['skip'];
  route_to_store: Evaluation['route_to_store'];
  set_status: Evaluation['set_status'];
}

function apply(a: Action, rule: RuleRef, o: NormalizedOrder, f: EffectiveFields, d: Decisions): void {
  switch (a.type) {
    case 'set':
      writeSettable(f, a.field, a.value);
      return;
    case 'default':
      if (readSettable(f, a.field) === null) writeSettable(f, a.field, a.value);
      return;
    case 'map_shipping_method': {
      const cur = blank(f.shipping_method);
      if (cur !== null && Object.hasOwn(a.map, cur)) {
        f.shipping_method = a.map[cur]!;
        return;
      }
      // A method that already is one of the map's targets counts as mapped: mapping an effective
      // order again must not hold it.
      if (cur !== null && Object.values(a.map).includes(cur)) return;
      if (a.unmapped === 'hold') {
        d.holds.push({
          rule,
          kind: 'unmapped_shipping_method',
          reason: cur === null ? 'no shipping method to map' : `shipping method '${cur}' is not mapped`,
        });
      } else if (a.unmapped !== 'keep') {
        f.shipping_method = a.unmapped.default;
      }
      return;
    }
    case 'add_tags':
      for (const t of a.tags) if (!f.tags.includes(t)) f.tags.push(t);
      return;
    case 'remove_tags':
      f.tags = f.tags.filter((t) => !a.tags.includes(t));
      return;
    case 'route_to_store':
      d.route_to_store = { rule, store_id: a.store_id };
      return;
    case 'skip':
      d.skip = { rule, reason: a.reason ?? null };
      return;
    case 'hold':
      d.holds.push({ rule, kind: 'hold', reason: a.reason ?? 'held by a rule' });
      return;
    case 'set_status':
      d.set_status = { rule, status: a.status };
      return;
    case 'exclude_items': {
      const add = o.items.flatMap((it, i) => (it.sku !== null && a.skus.includes(it.sku) ? [i] : []));
      f.excluded = [...new Set([...f.excluded, ...add])].sort((x, y) => x - y);
      return;
    }
  }
}

/** Enabled rules of one owner in position order (then id, so equal positions are still ordered). */
const runnableCache = new WeakMap<readonly Rule[], Rule[]>();
function runnable(rules: readonly Rule[]): Rule[] {
  let v = runnableCache.get(rules);
  if (v === undefined) {
    v = rules.filter((r) => r.enabled).sort((a, b) => a.position - b.position || a.id - b.id);
    runnableCache.set(rules, v);
  }
  return v;
}

// ---------------------------------------------------------------- changes

/** Sent → effective, path by path. */
export function diff(sent: EffectiveFields, eff: EffectiveFields): Change[] {
  const out: Change[] = [];
  const scalar = (path: string, a: unknown, b: unknown) => {
    if (a !== b) out.push({ path, from: a, to: b });
  };
  for (const k of ['shipping_method', 'requested_warehouse', 'internal_notes', 'payment_method'] as const)
    scalar(k, sent[k], eff[k]);
  for (let i = 0; i < 3; i++)
    scalar(`custom_fields[${i}]`, blank(sent.custom_fields[i]), blank(eff.custom_fields[i]));
  if (sent.tags.length !== eff.tags.length || sent.tags.some((t, i) => eff.tags[i] !== t))
    out.push({ path: 'tags', from: sent.tags, to: eff.tags });
  for (const which of ['ship_to', 'bill_to'] as const)
    for (const k of ADDRESS_FIELDS) scalar(`${which}.${k}`, sent[which][k], eff[which][k]);
  for (const i of eff.excluded)
    if (!sent.excluded.includes(i)) out.push({ path: `items[${i}].excluded`, from: false, to: true });
  return out;
}

// ---------------------------------------------------------------- what evaluation reads

/** The kinds of condition fields that read the order's lines (holds(): shippable lines). */
const LINE_KINDS: ReadonlySet<string> = new Set(['sku', 'count', 'weight']);

/**
 * Whether evaluating with these rules can read the order's lines: an enabled rule with a condition
 * on the lines (items.sku, item_count, total_quantity, total_weight_grams) or an exclude_items
 * action. When not, evaluate() gives the same answer whatever the lines (address normalisation and
 * every other action read only the order's own fields, and disposition() reads lines only once
 * some are excluded), so a caller evaluating many stored orders may leave them unread.
 */
export function rulesReadLines(rules: RuleSet): boolean {
  return [rules.merchant, rules.warehouse].some((list) =>
    runnable(list).some(
      (r) =>
        r.when.some((c) => LINE_KINDS.has(FIELDS[c.field].kind)) ||
        r.then.some((a) => a.type === 'exclude_items'),
    ),
  );
}

// ---------------------------------------------------------------- evaluate

export function evaluate(order: NormalizedOrder, rules: RuleSet, opts: EvaluateOptions): Evaluation {
  const sent = sentFields(order);
  sent.excluded = [...(opts.excluded ?? [])].sort((a, b) => a - b);
  const f = sentFields(order);
  f.excluded = [...sent.excluded];
  if (opts.normaliseAddresses) {
    f.ship_to = normaliseAddress(f.ship_to);
    f.bill_to = normaliseAddress(f.bill_to);
  }
  const applied: RuleRef[] = [];
  const d: Decisions = { holds: [], skip: null, route_to_store: null, set_status: null };
  for (const list of [rules.merchant, rules.warehouse]) {
    for (const rule of runnable(list)) {
      if (!rule.when.every((c) => holds(c, order, f))) continue;
      const ref: RuleRef = { id: rule.id, name: rule.name, owner: rule.owner };
      applied.push(ref);
      for (const a of rule.then) apply(a, ref, order, f, d);
      if (rule.stop) break;
    }
  }
  f.tags = canonicalTags(sent.tags, f.tags);
  return { fields: f, applied, changes: diff(sent, f), ...d };
}

/**
 * The effective tags in one order whatever the add/remove sequence that made them: the sent tags
 * that stayed, in their sent order, then the added ones sorted. Without it, "remove X" then
 * "add X" would move X to the end on every run, and evaluating an effective order again would
 * report a change that is none.
 */
function canonicalTags(sent: readonly string[], tags: readonly string[]): string[] {
  const kept = sent.filter((t, i) => tags.includes(t) && sent.indexOf(t) === i);
  const added = [...new Set(tags.filter((t) => !sent.includes(t)))].sort();
  return [...kept, ...added];
}

/** What the rules decided about where the order goes, before the store filters are asked. */
export type Disposition =
  | { kind: 'held'; reason: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'store'; store_id: number; rule: RuleRef }
  | { kind: 'filters' };

const named = (r: RuleRef) => `${r.owner} rule ${r.id} '${r.name}'`;

/**
 * Holds come first (a person must look at them, and each has an alert), then skips (a skip rule,
 * or every shippable line excluded — `skip` beats `route_to_store`), then a rule's store, and
 * otherwise the store filters decide.
 */
export function disposition(order: NormalizedOrder, e: Evaluation): Disposition {
  if (e.holds.length > 0) {
    return { kind: 'held', reason: e.holds.map((h) => `held by ${named(h.rule)}: ${h.reason}`).join('; ') };
  }
  if (e.skip) {
    return {
      kind: 'skipped',
      reason: `skipped by ${named(e.skip.rule)}${e.skip.reason ? `: ${e.skip.reason}` : ''}`,
    };
  }
  if (e.fields.excluded.length > 0 && shippable(order, e.fields.excluded).length === 0) {
    return { kind: 'skipped', reason: 'skipped: rules excluded every line' };
  }
  if (e.route_to_store) return { kind: 'store', ...e.route_to_store };
  return { kind: 'filters' };
}
