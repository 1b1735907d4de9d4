/**
 * The orders service: the one path every door takes — REST (one order or a batch), PUT, the
 * lifecycle actions, the console (which calls the REST API), an order source pulling orders, and
 * the re-evaluation of open orders when rules change. Routes only parse, call it and shape the
 * answer.
 *
 * Every order goes through the same stages, each owned by one module:
 *
 *   validate   — `parseOrder` (schema.ts): the order as sent, with the base normalisation (money,
 *                country and state codes, computed totals). This is what is stored in
 *                `orders.content` and what duplicate detection hashes.
 *   normalise  — address normalisation (src/rules/normalise.ts), when the merchant has it on,
 *   rules      — then the merchant's and its warehouse's rules (src/rules/evaluate.ts); both run in
 *                `applyRules`, pure, and give the effective order (`orders.effective`).
 *   route      — `routeOrdersLocked` (src/stores/assign.ts): the store filters on the effective
 *                tags, or what the rules decided (held, skipped, a rule's store).
 *   store      — the statements of repository.ts, in one transaction with routing.
 *
 * A change re-runs the stages that depend on it: PUT all of them; a lifecycle action only routing
 * (rules do not read the status); a rule change re-evaluates open orders (reevaluateOpenOrders).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import type { DB, OrderStatus } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { AppError, conflict, type ErrorDetail, formatPath, invalid, notFound } from '../http/errors.js';
import {
  type EffectiveView,
  effectiveView,
  excludedPositions,
  routeEvaluated,
  type StoredEffective,
  storedEffective,
} from '../rules/effective.js';
import { type Evaluation, evaluate, type RuleHold, rulesReadLines } from '../rules/evaluate.js';
import { syncHoldAlerts } from '../rules/holds.js';
import { loadRuleContext, type RuleContext } from '../rules/repository.js';
import { lockMerchantForRouting, routeOrdersLocked } from '../stores/assign.js';
import type { RoutingConnection, RoutingDecision } from '../stores/routing.js';
import { canonicalJson, contentHash, hashOf, orderContent, sameJson } from './content.js';
import {
  type HeldFrom,
  isEditable,
  type MerchantEvent,
  nextStatus,
  RULES_APPLY_TO,
  refusalMessage,
} from '../domain/lifecycle.js';
import { type Actor, type OrderEvent, writeOrderEvents } from '../domain/order-events.js';
import { updateLockedOrder } from './lock.js';
import { RELEASED_EVENT, withholdCreated } from './withheld.js';
import {
  conflictMessage,
  type EffectiveWrite,
  type IngestResult,
  insertOrders,
  keyOf,
  lockOrder,
  type MerchantRef,
  moneyColumns,
  openOrdersAfter,
  replaceLines,
  selectExisting,
  selectExistingAndLock,
  syncExcludedLines,
  unitsOfLines,
  viewOf,
  writeEffectiveAndRoute,
} from './repository.js';
import { MAX_BATCH_DETAILS, type ParsedOrder, parseOrder } from './schema.js';
import type { NormalizedOrder } from './types.js';
import { loadOrders, type OrderView, rowWithLinesToView, viewToNormalized } from './view.js';

export type { Actor } from '../domain/order-events.js';
export type { IngestResult, MerchantRef } from './repository.js';
export { getOrder, listOrders, orderEvents } from './repository.js';

// ---------------------------------------------------------------- stages

/** normalise → rules (pure): what the merchant's address setting and rules make of the sent order. */
export function applyRules(order: NormalizedOrder, ctx: RuleContext): Evaluation {
  return evaluate(order, ctx.rules, { normaliseAddresses: ctx.normaliseAddresses });
}

/**
 * The status a new order is stored with: the one asked for (default new), unless a rule's
 * set_status says otherwise — never for an order created on_hold (the merchant's own hold wins).
 */
export function createdStatus(asked: string | undefined, e: Evaluation): OrderStatus {
  const status = (asked ?? 'new') as OrderStatus;
  if (e.set_status && status !== 'on_hold') return e.set_status.status;
  return status;
}

function rulesAppliedEvent(orderId: number, data: Pick<Evaluation, 'applied' | 'changes'>): OrderEvent {
  return {
    order_id: orderId,
    type: 'rules_applied',
    from_status: null,
    to_status: null,
    data: { applied: data.applied, changes: data.changes },
  };
}

// ---------------------------------------------------------------- create, replace, act

/** Validating a batch hands the event loop back at least this often. */
const YIELD_AFTER_MS = 20;

/**
 * Creates orders (a single order is a batch of one). Each input is validated and normalised; the
 * valid ones are written in a handful of statements; each answers created, duplicate (same
 * normalised content as the stored order), conflict (different content) or invalid.
 *
 * Stages: validate (parseOrder, order by order) → normalise + rules (applyRules, once per new
 * order, with the rules read once per batch) → store → route.
 *
 * Statements: (1) the stored orders among the inputs, with the merchant's routing lock when some
 * are new; (2) the rules and the merchant's address setting; (3) the new orders (as sent, with
 * their effective form), their lines and events; [(3b) only when another transaction created some
 * of them meanwhile: those]; [(3c) only when rules hold some: their alerts]; (4) routing of the
 * created orders; (5) the created orders as answered. Duplicates only: (1).
 */
export async function createOrders(
  db: Kysely<DB>,
  merchant: MerchantRef,
  actor: Actor,
  inputs: readonly unknown[],
  batch: boolean,
  /** Inputs (by index) to store withheld, with why (src/orders/withheld.ts); only when created. */
  withheld?: ReadonlyMap<number, string>,
): Promise<IngestResult[]> {
  const results: (IngestResult | undefined)[] = new Array(inputs.length);
  interface Valid {
    index: number;
    parsed: ParsedOrder;
    /** canonicalJson(order): hashed, and sent as the order's JSON (it is valid JSON of the order). */
    canonical: string;
    hash: string;
    key: string;
  }
  const valid: Valid[] = [];
  // The answer lists at most MAX_BATCH_DETAILS details in all: past that, an invalid order is
  // checked up to its first error.
  let budget = MAX_BATCH_DETAILS;
  let turn = performance.now();
  for (let index = 0; index < inputs.length; index++) {
    // A batch of 500 large orders takes a while to check: let other requests in between.
    if (performance.now() - turn > YIELD_AFTER_MS) {
      await nextTurn();
      turn = performance.now();
    }
    const r = parseOrder(inputs[index], 'create', batch ? ['orders', index] : [], budget);
    if (!r.ok) {
      budget = Math.max(1, budget - r.details.length);
      results[index] = {
        index,
        result: 'invalid',
        error: { code: 'invalid_request', message: r.message, details: r.details },
      };
      continue;
    }
    const o = r.value.order;
    const canonical = canonicalJson(o);
    valid.push({
      index,
      parsed: r.value,
      canonical,
      hash: hashOf(canonical),
      key: keyOf(o.order_source, o.order_number),
    });
  }
  if (valid.length === 0) return results as IngestResult[];

  // First occurrence of each (source, number) is the one that may create the order.
  const firsts = new Map<string, Valid>();
  for (const v of valid) if (!firsts.has(v.key)) firsts.set(v.key, v);

  const { stored, createdBy, views } = await inTransaction(db, async (trx) => {
    const stored = new Map<string, { id: number; hash: string }>();
    const views = new Map<number, OrderView>();
    const keys: { s: string; n: string }[] = [];
    for (const v of firsts.values())
      keys.push({ s: v.parsed.order.order_source, n: v.parsed.order.order_number });
    for (const e of await selectExistingAndLock(trx, merchant.id, keys)) {
      stored.set(keyOf(e.order_source, e.order_number), { id: e.id, hash: e.content_hash });
      views.set(e.id, rowWithLinesToView(e));
    }
    const toInsert: Valid[] = [];
    for (const v of firsts.values()) if (!stored.has(v.key)) toInsert.push(v);
    const createdBy = new Map<string, number>(); // key → index that created it
    if (toInsert.length > 0) {
      // Read after the first statement took the merchant's routing lock: a rule change in flight
      // has committed by now (it holds the merchant row), so these are the rules that apply.
      const rules = await loadRuleContext(trx, merchant.id);
      const held = new Set<string>();
      let rowsJson = '[';
      for (let i = 0; i < toInsert.length; i++) {
        const v = toInsert[i]!;
        const e = applyRules(v.parsed.order, rules);
        const effective = storedEffective(v.parsed.order, e);
        if (e.holds.length > 0) held.add(v.key);
        if (i > 0) rowsJson += ',';
        rowsJson += `{"status":${JSON.stringify(createdStatus(v.parsed.status, e))},"content_hash":${JSON.stringify(v.hash)},"o":${v.canonical},"effective":${JSON.stringify(effective)}}`;
      }
      rowsJson += ']';
      const inserted = await insertOrders(trx, merchant.id, actor, rowsJson);
      for (const r of inserted) {
        const key = keyOf(r.order_source, r.order_number);
        const v = firsts.get(key)!;
        stored.set(key, { id: r.id, hash: v.hash });
        createdBy.set(key, v.index);
      }
      // Orders another transaction created meanwhile (it committed before our insert went on).
      const late = toInsert.filter((v) => !stored.has(v.key));
      const more = await selectExisting(
        trx,
        merchant.id,
        late.map((v) => ({ s: v.parsed.order.order_source, n: v.parsed.order.order_number })),
      );
      for (const e of more)
        stored.set(keyOf(e.order_source, e.order_number), { id: e.id, hash: e.content_hash });

      // Ids in input order (createdBy holds the first occurrence, which toInsert lists in input order).
      const createdIds: number[] = [];
      const heldIds: number[] = [];
      for (const v of toInsert) {
        if (createdBy.get(v.key) !== v.index) continue;
        createdIds.push(stored.get(v.key)!.id);
        if (held.has(v.key)) heldIds.push(stored.get(v.key)!.id);
      }
      await syncHoldAlerts(trx, merchant.id, heldIds);
      if (withheld !== undefined && withheld.size > 0) {
        const withholding: { id: number; reason: string }[] = [];
        for (const v of toInsert) {
          const reason = withheld.get(v.index);
          if (reason !== undefined && createdBy.get(v.key) === v.index)
            withholding.push({ id: stored.get(v.key)!.id, reason });
        }
        await withholdCreated(trx, merchant.id, actor, withholding);
      }
      // The merchant's routing lock was taken by the first statement (some key was not stored then).
      await routeOrdersLocked(trx, merchant.id, createdIds);
    }
    const missing: number[] = [];
    for (const v of valid) {
      const s = stored.get(v.key);
      if (s !== undefined && !views.has(s.id)) missing.push(s.id);
    }
    if (missing.length > 0) for (const o of await loadOrders(trx, merchant.id, missing)) views.set(o.id, o);
    return { stored, createdBy, views };
  });

  for (const v of valid) {
    const s = stored.get(v.key);
    const view = s ? views.get(s.id) : undefined;
    if (!s || !view) {
      // The order vanished between statements (cannot happen: orders are never deleted).
      throw new AppError('internal', 'order disappeared during ingestion');
    }
    if (createdBy.get(v.key) === v.index)
      results[v.index] = { index: v.index, result: 'created', order: view };
    else if (s.hash === v.hash) results[v.index] = { index: v.index, result: 'duplicate', order: view };
    else {
      results[v.index] = {
        index: v.index,
        result: 'conflict',
        error: {
          code: 'conflict',
          message: conflictMessage(merchant, v.parsed.order, s.id),
          details: [
            {
              path: formatPath(batch ? ['orders', v.index, 'order_number'] : ['order_number']),
              message: 'exists',
            },
          ],
        },
      };
    }
  }
  return results as IngestResult[];
}

/**
 * Replaces an order's content (PUT). Refused once shipped, confirmed or canceled; line changes
 * refused once served to ShipStation or shipped in part (any shipment row, voided or not, or any
 * shipped quantity). order_source and order_number are the order's identity: they may be
 * omitted, and must equal the stored ones when sent. The same content changes nothing.
 */
export async function replaceOrder(
  db: Kysely<DB>,
  merchant: MerchantRef,
  actor: Actor,
  id: number,
  input: unknown,
): Promise<OrderView> {
  const parsed = parseOrder(input, 'replace');
  if (!parsed.ok) throw invalid(parsed.message, parsed.details);
  return inTransaction(db, async (trx) => {
    const row = await lockOrder(trx, merchant.id, id);
    if (!isEditable(row.status)) {
      throw conflict(`the order is ${row.status}: its content can no longer be replaced`);
    }
    const p = parsed.value;
    const o = p.order;
    const identity: ErrorDetail[] = [];
    if (p.source_given && o.order_source !== row.order_source) {
      identity.push({ path: 'order_source', message: `is '${row.order_source}' and cannot change` });
    }
    if (p.number_given && o.order_number !== row.order_number) {
      identity.push({ path: 'order_number', message: `is '${row.order_number}' and cannot change` });
    }
    if (identity.length > 0) {
      throw conflict(
        'order_source and order_number identify the order and cannot change; create a new order',
        identity,
      );
    }
    o.order_source = row.order_source;
    o.order_number = row.order_number;
    const hash = contentHash(o);
    if (hash === row.content_hash) return viewOf(trx, merchant.id, id);

    const existing = await trx
      .selectFrom('order_lines')
      .select(['id', 'position', 'line_id', 'shipped_quantity', 'content'])
      .where('merchant_id', '=', merchant.id)
      .where('order_id', '=', id)
      .orderBy('position')
      .execute();
    const itemsChanged = canonicalJson(existing.map((l) => l.content)) !== canonicalJson(o.items);
    if (itemsChanged) {
      const reasons: string[] = [];
      if (row.served_store_id !== null) reasons.push('it has been served to ShipStation');
      const shipment = await trx
        .selectFrom('shipments')
        .select('id')
        .where('merchant_id', '=', merchant.id)
        .where('order_id', '=', id)
        .limit(1)
        .executeTakeFirst();
      if (shipment || existing.some((l) => l.shipped_quantity > 0)) reasons.push('it has a shipment');
      if (reasons.length > 0) {
        throw conflict(
          `the order's lines and quantities can no longer change: ${reasons.join(' and ')} ` +
            '(ShipStation may not take item changes on re-import); other fields can',
          [{ path: 'items', message: 'differs from the stored lines' }],
        );
      }
      await replaceLines(trx, merchant.id, id, existing, o.items);
    }
    // normalise + rules: the rules read after lockOrder took the merchant's routing lock.
    const e = applyRules(o, await loadRuleContext(trx, merchant.id));
    const effective = storedEffective(o, e);
    const before = row.content as Record<string, unknown>;
    const after = orderContent(o) as unknown as Record<string, unknown>;
    const changed = Object.keys(after).filter((k) => canonicalJson(before[k]) !== canonicalJson(after[k]));
    if (itemsChanged) changed.push('items');
    await updateLockedOrder(trx, row, {
      ...moneyColumns(o),
      tags: e.fields.tags,
      content: JSON.stringify(orderContent(o)),
      effective: effective === null ? null : JSON.stringify(effective),
      content_hash: hash,
      last_modified: sql<Date>`now()`,
      // the lines as replaced above, less what the new effective excludes
      units: unitsOfLines(
        sql`${merchant.id}::bigint`,
        sql`${id}::bigint`,
        sql`${effective === null ? null : JSON.stringify(effective)}::jsonb`,
      ),
    });
    await writeOrderEvents(trx, merchant.id, actor, [
      { order_id: id, type: 'replaced', from_status: row.status, to_status: row.status, data: { changed } },
      ...(e.changes.length > 0 ? [rulesAppliedEvent(id, { applied: e.applied, changes: e.changes })] : []),
    ]);
    const stored = row.effective as StoredEffective | null;
    if ((stored?.holds.length ?? 0) > 0 || e.holds.length > 0) await syncHoldAlerts(trx, merchant.id, [id]);
    if (excludedPositions(stored).length > 0 || e.fields.excluded.length > 0) {
      await syncExcludedLines(trx, merchant.id, [id]);
    }
    // lockOrder took the merchant's routing lock in an earlier statement.
    await routeOrdersLocked(trx, merchant.id, [id]);
    return viewOf(trx, merchant.id, id);
  });
}

/** A merchant's lifecycle request (pay, hold, release, cancel), under the order's row lock. */
export async function transitionOrder(
  db: Kysely<DB>,
  merchant: MerchantRef,
  actor: Actor,
  id: number,
  event: MerchantEvent,
  reason: string | null,
): Promise<OrderView> {
  return inTransaction(db, async (trx) => {
    const row = await lockOrder(trx, merchant.id, id);
    const next = nextStatus(row.status, event, row.held_from as HeldFrom | null);
    if (!next)
      throw conflict(refusalMessage(event, row.status), [{ path: 'status', message: `is ${row.status}` }]);
    await updateLockedOrder(trx, row, {
      status: next.status,
      held_from: next.held_from,
      last_modified: sql<Date>`now()`,
    });
    await writeOrderEvents(trx, merchant.id, actor, [
      {
        order_id: id,
        type: event,
        from_status: row.status,
        to_status: next.status,
        data: reason === null ? null : { reason },
      },
    ]);
    // lockOrder took the merchant's routing lock in an earlier statement.
    await routeOrdersLocked(trx, merchant.id, [id]);
    return viewOf(trx, merchant.id, id);
  });
}

/**
 * Releases a withheld order (src/orders/withheld.ts): it routes as usual from now on. `alongside`
 * runs in the same transaction, after the order is released (the door that withheld it records
 * the release). Refused (409) when the order is not withheld.
 */
export async function releaseWithheld(
  db: Kysely<DB>,
  merchant: MerchantRef,
  actor: Actor,
  id: number,
  alongside?: (trx: Kysely<DB>) => Promise<void>,
): Promise<OrderView> {
  return inTransaction(db, async (trx) => {
    const row = await lockOrder(trx, merchant.id, id);
    if (row.withheld === null)
      throw conflict('the order is not withheld: it routes as usual', [
        { path: 'withheld', message: 'is null' },
      ]);
    await updateLockedOrder(trx, row, { withheld: null });
    await writeOrderEvents(trx, merchant.id, actor, [
      {
        order_id: id,
        type: RELEASED_EVENT,
        from_status: row.status,
        to_status: row.status,
        data: { reason: row.withheld },
      },
    ]);
    await alongside?.(trx);
    // lockOrder took the merchant's routing lock in an earlier statement.
    await routeOrdersLocked(trx, merchant.id, [id]);
    return viewOf(trx, merchant.id, id);
  });
}

// ---------------------------------------------------------------- preview

export interface Preview {
  /** The order as sent (or as stored), its fields at the top level. */
  base: Record<string, unknown>;
  effective: EffectiveView;
  routing: RoutingDecision;
  status: string;
  holds: RuleHold[];
  /** False for a stored order rules no longer change (served, shipped, confirmed, canceled). */
  applies: boolean;
}

/**
 * What the current rules do to an order body (as for POST …/orders) or to a stored order
 * (`{"order_id": N}`), through the same stages as creating it, storing nothing.
 */
export async function previewOrder(
  db: Kysely<DB>,
  merchant: MerchantRef,
  body: { order: unknown } | { orderId: number },
): Promise<Preview> {
  let order: NormalizedOrder;
  let lineIds: (number | null)[];
  let base: Record<string, unknown>;
  let asked: string | undefined;
  let applies = true;
  let withheldOf: string | null = null;
  if ('orderId' in body) {
    const [view] = await loadOrders(db, merchant.id, [body.orderId]);
    if (!view) throw notFound(`order ${body.orderId}`);
    withheldOf = view.routing.withheld ?? null;
    const { effective: _stored, ...sent } = view;
    order = viewToNormalized(view);
    lineIds = view.items.map((it) => it.line_item_id);
    base = sent;
    asked = view.status;
    applies =
      view.routing.served_store_id === null && (RULES_APPLY_TO as readonly string[]).includes(view.status);
  } else {
    const parsed = parseOrder(body.order, 'create');
    if (!parsed.ok) throw invalid('invalid order', parsed.details);
    order = parsed.value.order;
    lineIds = order.items.map(() => null);
    base = { ...order };
    asked = parsed.value.status;
  }
  const e = applyRules(order, await loadRuleContext(db, merchant.id));
  const conns: RoutingConnection[] = (
    await db
      .selectFrom('stores')
      .select(['id', 'name', 'order_sources', 'include_tags', 'exclude_tags', 'priority', 'created_at'])
      .where('merchant_id', '=', merchant.id)
      .where('retired_at', 'is', null)
      .execute()
  ).map((s) => ({ ...s, id: Number(s.id) }));
  return {
    base,
    effective: effectiveView(order, e, lineIds),
    routing: routeEvaluated(order, e, conns, 'orderId' in body ? withheldOf : null),
    // set_status applies only when an order is created.
    status: 'orderId' in body ? (asked ?? 'new') : createdStatus(asked, e),
    holds: e.holds,
    applies,
  };
}

// ---------------------------------------------------------------- re-evaluation

/** From this many orders read, a re-evaluation step evaluates its second half during the first's write. */
const SPLIT_FROM = 200;

/** Who re-evaluation acts as in order events. */
export const REEVALUATION_ACTOR: Actor = { actor_type: 'system', actor: 'rules' };

export interface ReevaluationStep {
  /** Orders read (open and unserved). */
  seen: number;
  /** Orders whose effective form changed (and were re-routed). */
  changed: number;
  /** The last id read; null when the merchant has no more. */
  last: number | null;
}

/**
 * Re-evaluates up to `limit` of the merchant's open, unserved orders after id `afterId`, in the
 * caller's transaction: the routing lock first (its own statement, as every order writer), then
 * the rules, the orders (with their lines only when a rule reads lines), evaluation in JS, and
 * set-wise writes of what changed — one statement for the effective form, the routing and the
 * events of every changed order (two for a large step: its second half is evaluated while the
 * first half's is written), then hold alerts and excluded lines when those moved. Served,
 * shipped, confirmed and canceled orders are never read, so never changed.
 */
export async function reevaluateOpenOrders(
  trx: Kysely<DB>,
  merchantId: number,
  afterId: number,
  limit: number,
): Promise<ReevaluationStep> {
  await lockMerchantForRouting(trx, merchantId);
  const rules = await loadRuleContext(trx, merchantId);
  const rows = await openOrdersAfter(trx, merchantId, afterId, limit, { lines: rulesReadLines(rules.rules) });
  const holdsMoved: number[] = [];
  const exclusionsMoved: number[] = [];
  /** Evaluates rows[from, to): the orders whose effective form differs from the stored one. */
  const evaluateRows = (from: number, to: number): EffectiveWrite[] => {
    const writes: EffectiveWrite[] = [];
    for (let i = from; i < to; i++) {
      const r = rows[i]!;
      const order: NormalizedOrder = { ...r.content, items: r.items };
      const effective = storedEffective(order, applyRules(order, rules));
      if (sameJson(effective, r.effective)) continue;
      writes.push({ id: r.id, content_hash: r.content_hash, effective });
      if ((r.effective?.holds.length ?? 0) > 0 || (effective?.holds.length ?? 0) > 0) holdsMoved.push(r.id);
      if (!sameJson(excludedPositions(r.effective), excludedPositions(effective))) {
        exclusionsMoved.push(r.id);
      }
    }
    return writes;
  };
  // The effective form and the routing of each changed order, in one statement (one row version).
  // Evaluating is JavaScript and writing is the database's, on different cores: a large chunk's
  // second half is evaluated while the first half's write runs. The second write locks its orders
  // after the first, both in id order, so the chunk still locks in id order.
  const half = rows.length >= SPLIT_FROM ? Math.ceil(rows.length / 2) : rows.length;
  const firstWrite = writeEffectiveAndRoute(trx, merchantId, evaluateRows(0, half), REEVALUATION_ACTOR);
  let changed: number[];
  if (half < rows.length) {
    // Awaited below; without a handler now, a failure during the evaluation would count as unhandled.
    firstWrite.catch(() => undefined);
    await nextTurn(); // the statement goes out before the evaluation below holds the thread
    const rest = evaluateRows(half, rows.length);
    const first = await firstWrite;
    changed = first.concat(await writeEffectiveAndRoute(trx, merchantId, rest, REEVALUATION_ACTOR));
  } else {
    changed = await firstWrite;
  }
  const written = new Set(changed);
  await syncHoldAlerts(
    trx,
    merchantId,
    holdsMoved.filter((id) => written.has(id)),
  );
  await syncExcludedLines(
    trx,
    merchantId,
    exclusionsMoved.filter((id) => written.has(id)),
  );
  const last = rows.length < limit ? null : (rows[rows.length - 1]?.id ?? null);
  return { seen: rows.length, changed: changed.length, last };
}
