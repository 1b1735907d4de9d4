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

export const MAX_RULES_PER_OWNER = 200;

export interface OwnerRef {
  kind: RuleOwner;
  id: number;
}

export interface RuleView extends Rule {
  created_at: Date;
  updated_at: Date;
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

  /** One owner's change, under its lock. */
  private change<T>(o: OwnerRef, fn: (trx: Kysely<DB>, ids: number[]) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${LOCK_SPACE[o.kind]}::int, ${o.id}::int)`.execute(trx);
      const rows = await trx
        .selectFrom('rules')
        .select('id')
        .where(ownerColumn(o), '=', o.id)
        .orderBy('position')
        .orderBy('id')
        .execute();
      return fn(
        trx,
        rows.map((r) => Number(r.id)),
      );
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

  async create(o: OwnerRef, input: RuleInput): Promise<RuleView> {
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

  async update(o: OwnerRef, id: number, patch: RulePatch): Promise<RuleView> {
    return this.change(o, async (trx, ids) => {
      if (!ids.includes(id)) throw notFound(`rule ${id}`);
      if (patch.then) await this.checkStores(trx, o, patch.then);
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

  async remove(o: OwnerRef, id: number): Promise<void> {
    await this.change(o, async (trx, ids) => {
      if (!ids.includes(id)) throw notFound(`rule ${id}`);
      await trx.deleteFrom('rules').where('id', '=', id).execute();
      await this.renumber(
        trx,
        o,
        ids.filter((x) => x !== id),
      );
    });
  }

  /** The new order of the owner's rules: `ids` must name each of them exactly once. */
  async reorder(o: OwnerRef, order: readonly number[]): Promise<RuleView[]> {
    await this.change(o, async (trx, ids) => {
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
    return this.list(o);
  }

  /** The merchant's rules and its warehouse's (enabled or not: evaluation skips disabled ones). */
  async ruleSetFor(db: Kysely<DB>, merchantId: number, warehouseId: number | null): Promise<RuleSet> {
    const rows = await db
      .selectFrom('rules')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('merchant_id', '=', merchantId),
          ...(warehouseId === null ? [] : [eb('warehouse_id', '=', warehouseId)]),
        ]),
      )
      .orderBy('position')
      .orderBy('id')
      .execute();
    const rules = rows.map(toView);
    return {
      merchant: rules.filter((r) => r.owner === 'merchant'),
      warehouse: rules.filter((r) => r.owner === 'warehouse'),
    };
  }

  async normaliseAddresses(db: Kysely<DB>, merchantId: number): Promise<boolean> {
    const m = await db
      .selectFrom('merchants')
      .select('normalise_addresses')
      .where('id', '=', merchantId)
      .executeTakeFirstOrThrow();
    return m.normalise_addresses;
  }
}
