/**
 * Rules in the database: list, create, change, delete, re-order (positions 1..n per owner), and the
 * rule set evaluation needs for a merchant. Every change of one owner's list runs in a transaction
 * that first takes that owner's advisory lock, so two changes never number positions on a stale list.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { DB, RulesTable } from '../db/schema.js';
import { AppError, invalid, notFound } from '../http/errors.js';
import type { RuleSet } from './evaluate.js';
import type { Action, Condition, Rule, RuleInput, RuleOwner, RulePatch } from './model.js';
import { clearRuleInvalid } from './invalid.js';
import { enqueueReevaluation, type Reevaluation } from './reevaluate.js';

export const MAX_RULES_PER_OWNER = 200;

export interface OwnerRef {
  kind: RuleOwner;
  id: number;
}

export interface RuleView extends Rule {
  created_at: Date;
  updated_at: Date;
  /** Why the rule no longer holds as written (invalid.ts), or null. */
  invalid_reason: string | null;
}

/** A change of a rule list: its result, and the re-evaluation of open orders it set off. */
export interface Changed<T> {
  value: T;
  reevaluation: Reevaluation;
}

/** What evaluating an order needs besides the order: the rules and the merchant's setting. */
export interface RuleContext {
  rules: RuleSet;
  normaliseAddresses: boolean;
}

/** Advisory lock namespaces (two-int form): one per kind of owner. */
const LOCK_SPACE: Record<RuleOwner, number> = { merchant: 0x52554c45, warehouse: 0x52554c46 };

type Row = Selectable<RulesTable>;

function toView(r: Row): RuleView {
  return {
    id: Number(r.id),
    name: r.name,
    owner: r.merchant_id !== null ? 'merchant' : 'warehouse',
    enabled: r.enabled,
    position: r.position,
    when: r.conditions as Condition[],
    then: r.actions as Action[],
    stop: r.stop,
    created_at: r.created_at,
    updated_at: r.updated_at,
    invalid_reason: r.invalid_reason,
  };
}

const ownerColumn = (o: OwnerRef) => (o.kind === 'merchant' ? 'merchant_id' : 'warehouse_id');

/** Where `id` lands when moved to 1-based `position` (past the end: last). */
function placed(ids: readonly number[], id: number, position: number | undefined): number[] {
  const rest = ids.filter((x) => x !== id);
  const at = position === undefined ? rest.length : Math.min(position - 1, rest.length);
  return [...rest.slice(0, at), id, ...rest.slice(at)];
}

export class RulesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  private ofOwner(db: Kysely<DB>, o: OwnerRef) {
    return db.selectFrom('rules').selectAll().where(ownerColumn(o), '=', o.id);
  }

  async list(o: OwnerRef): Promise<RuleView[]> {
    const rows = await this.ofOwner(this.db, o).orderBy('position').orderBy('id').execute();
    return rows.map(toView);
  }

  async get(o: OwnerRef, id: number): Promise<RuleView> {
    const row = await this.ofOwner(this.db, o).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`rule ${id}`);
    return toView(row);
  }

  /**
   * One owner's change, under its lock, with the re-evaluation of the open orders it affects
   * enqueued in the same transaction (enqueueReevaluation also locks the merchants' rows, so order
   * writes in flight finish first and later ones read the new rules).
   */
  private change<T>(o: OwnerRef, fn: (trx: Kysely<DB>, ids: number[]) => Promise<T>): Promise<Changed<T>> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${LOCK_SPACE[o.kind]}::int, ${o.id}::int)`.execute(trx);
      const rows = await trx
        .selectFrom('rules')
        .select('id')
        .where(ownerColumn(o), '=', o.id)
        .orderBy('position')
        .orderBy('id')
        .execute();
      const value = await fn(
        trx,
        rows.map((r) => Number(r.id)),
      );
      return { value, reevaluation: await enqueueReevaluation(trx, o) };
    });
  }

  /** Numbers the owner's rules 1..n in the order of `ids` (only rows whose position moves are written). */
  private async renumber(trx: Kysely<DB>, o: OwnerRef, ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await sql`update rules r set position = v.position, updated_at = now()
      from unnest(${sql.val(ids)}::bigint[]) with ordinality as v(id, position)
      where r.id = v.id and r.${sql.ref(ownerColumn(o))} = ${o.id} and r.position <> v.position`.execute(trx);
  }

  /** route_to_store must name a live store of the merchant. */
  private async checkStores(trx: Kysely<DB>, o: OwnerRef, then: readonly Action[]): Promise<void> {
    if (o.kind !== 'merchant') return;
    const wanted = then.flatMap((a, i) => (a.type === 'route_to_store' ? [{ i, id: a.store_id }] : []));
    if (wanted.length === 0) return;
    const live = await trx
      .selectFrom('stores')
      .select('id')
      .where('merchant_id', '=', o.id)
      .where('retired_at', 'is', null)
      .where(
        'id',
        'in',
        wanted.map((w) => w.id),
      )
      .execute();
    const ok = new Set(live.map((s) => Number(s.id)));
    const bad = wanted.filter((w) => !ok.has(w.id));
    if (bad.length > 0) {
      throw invalid(
        'route_to_store names a store that is not a live store connection of this merchant',
        bad.map((w) => ({
          path: `then[${w.i}].store_id`,
          message: `store ${w.id} is not a live (unretired) store connection of this merchant`,
        })),
      );
    }
  }

  async create(o: OwnerRef, input: RuleInput): Promise<Changed<RuleView>> {
    return this.change(o, async (trx, ids) => {
      if (ids.length >= MAX_RULES_PER_OWNER) {
        throw new AppError('conflict', `at most ${MAX_RULES_PER_OWNER} rules per ${o.kind}`);
      }
      await this.checkStores(trx, o, input.then);
      const row = await trx
        .insertInto('rules')
        .values({
          [ownerColumn(o)]: o.id,
          name: input.name,
          enabled: input.enabled,
          position: ids.length + 1,
          conditions: JSON.stringify(input.when),
          actions: JSON.stringify(input.then),
          stop: input.stop,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const id = Number(row.id);
      await this.renumber(trx, o, placed(ids, id, input.position));
      return toView(await this.ofOwner(trx, o).where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  async update(o: OwnerRef, id: number, patch: RulePatch): Promise<Changed<RuleView>> {
    return this.change(o, async (trx, ids) => {
      if (!ids.includes(id)) throw notFound(`rule ${id}`);
      if (patch.then) {
        await this.checkStores(trx, o, patch.then);
        // Saved naming only live stores: valid again.
        if (o.kind === 'merchant') await clearRuleInvalid(trx, o.id, id);
      }
      await trx
        .updateTable('rules')
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          ...(patch.when !== undefined ? { conditions: JSON.stringify(patch.when) } : {}),
          ...(patch.then !== undefined ? { actions: JSON.stringify(patch.then) } : {}),
          ...(patch.stop !== undefined ? { stop: patch.stop } : {}),
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
      if (patch.position !== undefined) await this.renumber(trx, o, placed(ids, id, patch.position));
      return toView(await this.ofOwner(trx, o).where('id', '=', id).executeTakeFirstOrThrow());
    });
  }

  async remove(o: OwnerRef, id: number): Promise<Changed<void>> {
    return this.change(o, async (trx, ids) => {
      if (!ids.includes(id)) throw notFound(`rule ${id}`);
      if (o.kind === 'merchant') await clearRuleInvalid(trx, o.id, id);
      await trx.deleteFrom('rules').where('id', '=', id).execute();
      await this.renumber(
        trx,
        o,
        ids.filter((x) => x !== id),
      );
    });
  }

  /** The new order of the owner's rules: `ids` must name each of them exactly once. */
  async reorder(o: OwnerRef, order: readonly number[]): Promise<Changed<RuleView[]>> {
    const changed = await this.change(o, async (trx, ids) => {
      const given = new Set(order);
      const details = [
        ...order.flatMap((id, i) =>
          !ids.includes(id)
            ? [{ path: `ids[${i}]`, message: `rule ${id} is not one of these rules` }]
            : order.indexOf(id) !== i
              ? [{ path: `ids[${i}]`, message: `rule ${id} is listed twice` }]
              : [],
        ),
        ...ids
          .filter((id) => !given.has(id))
          .map((id) => ({ path: 'ids', message: `rule ${id} is missing: list every rule once` })),
      ];
      if (details.length > 0) throw invalid('ids must list every rule of the list exactly once', details);
      await this.renumber(trx, o, order);
    });
    return { value: await this.list(o), reevaluation: changed.reevaluation };
  }
}

/**
 * The rules that run for a merchant (its own and its warehouse's, enabled or not: evaluation skips
 * disabled ones) and its address setting, in one statement. Order writers call it AFTER their
 * first statement took the merchant's routing lock, so a rule change in flight (which holds the
 * merchant's row, see enqueueReevaluation) has committed and is seen.
 */
export async function loadRuleContext(db: Kysely<DB>, merchantId: number): Promise<RuleContext> {
  const r = await sql<{ normalise_addresses: boolean; rules: Row[] | null }>`
    select m.normalise_addresses, (
      select json_agg(x order by x.position, x.id) from (
        select r.* from rules r where r.merchant_id = m.id
        union all
        select r.* from rules r where r.warehouse_id = m.warehouse_id
      ) x
    ) as rules
    from merchants m where m.id = ${merchantId}
  `.execute(db);
  const row = r.rows[0];
  if (!row) throw notFound(`merchant ${merchantId}`);
  // json_agg answers ids as numbers and timestamps as text: only the rule's own fields are read.
  const rules = (row.rules ?? []).map(toView);
  return {
    rules: {
      merchant: rules.filter((x) => x.owner === 'merchant'),
      warehouse: rules.filter((x) => x.owner === 'warehouse'),
    },
    normaliseAddresses: row.normalise_addresses,
  };
}
