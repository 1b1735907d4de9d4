import { type Kysely, sql } from 'kysely';
import type { DB, Store } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { notFound } from '../http/errors.js';
import { type Page, pageById } from '../lib/cursor.js';
import { generateIdentifier, generateSecret, type SecretHasher } from '../lib/secrets.js';
import { invalidateRulesRoutingTo } from '../rules/invalid.js';
import { lockMerchantStores, rerouteMerchant } from './assign.js';
import { ROUTING_SETTINGS } from './routing.js';

/** The five ShipStation status fields, exactly as the user pastes them. */
export const SHIPSTATION_STATUSES = {
  unpaid_status: 'await_payment',
  paid_status: 'new,at_wms',
  shipped_status: 'shipped,confirmed',
  cancelled_status: 'canceled',
  on_hold_status: 'on_hold',
} as const;

/** Settings a client gives when creating a connection; absent ones take their defaults. */
export interface StoreSettings {
  name: string;
  order_sources?: string[] | undefined;
  include_tags?: string[] | undefined;
  exclude_tags?: string[] | undefined;
  priority?: number | undefined;
  page_size?: number | undefined;
  timezone?: string | undefined;
  lookback_minutes?: number | undefined;
  order_number_prefix?: string | undefined;
}

export type StorePatch = Partial<StoreSettings>;

/** A store connection as the API answers it (never the password hash). */
export interface StoreView {
  id: number;
  name: string;
  username: string;
  order_sources: string[];
  include_tags: string[];
  exclude_tags: string[];
  priority: number;
  page_size: number;
  timezone: string;
  lookback_minutes: number;
  order_number_prefix: string;
  created_at: Date;
  updated_at: Date;
  retired_at: Date | null;
  password_rotated_at: Date | null;
}

export interface StoreHealth {
  last_export_at: Date | null;
  last_window: { start: Date; end: Date } | null;
  last_notice_at: Date | null;
  open_alerts: number;
}

/** Drops repeated values, keeping the first of each (a filter is a set; its order is kept for display). */
const unique = (values: readonly string[] | undefined) => (values ? [...new Set(values)] : undefined);

export function storeView(s: Store): StoreView {
  return {
    id: s.id,
    name: s.name,
    username: s.username,
    order_sources: s.order_sources,
    include_tags: s.include_tags,
    exclude_tags: s.exclude_tags,
    priority: s.priority,
    page_size: s.page_size,
    timezone: s.timezone,
    lookback_minutes: s.lookback_minutes,
    order_number_prefix: s.order_number_prefix,
    created_at: s.created_at,
    updated_at: s.updated_at,
    retired_at: s.retired_at,
    password_rotated_at: s.password_rotated_at,
  };
}

/** The canonical spelling of a (validated) IANA zone: 'america/new_york' → 'America/New_York'. */
export const canonicalZone = (tz: string) =>
  new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;

const isUniqueViolation = (e: unknown) => (e as { code?: string } | null)?.code === '23505';

/**
 * Store connections of merchants: creation with generated ShipStation credentials, settings, retirement,
 * password rotation, and the re-routing every routing-relevant change triggers (in the same transaction).
 */
export class StoresService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly hasher: SecretHasher,
  ) {}

  /**
   * Runs a store change in a transaction that first locks the merchant's store set. A deadlock with a
   * concurrent order change of the same merchant (rare: both want the other's lock) is retried.
   */
  private async change<T>(merchantId: number, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
    return inTransaction(this.db, async (trx) => {
      await lockMerchantStores(trx, merchantId);
      return fn(trx);
    });
  }

  async create(
    merchantId: number,
    input: StoreSettings,
  ): Promise<{ store: StoreView; username: string; password: string; rerouted: number }> {
    for (let attempt = 1; ; attempt++) {
      const username = generateIdentifier('ss');
      const password = generateSecret();
      try {
        return await this.change(merchantId, async (trx) => {
          const row = await trx
            .insertInto('stores')
            .values({
              merchant_id: merchantId,
              name: input.name,
              username,
              password_hash: this.hasher.hash(password),
              order_sources: unique(input.order_sources) ?? [],
              include_tags: unique(input.include_tags) ?? [],
              exclude_tags: unique(input.exclude_tags) ?? [],
              ...(input.priority !== undefined ? { priority: input.priority } : {}),
              ...(input.page_size !== undefined ? { page_size: input.page_size } : {}),
              ...(input.timezone !== undefined ? { timezone: canonicalZone(input.timezone) } : {}),
              ...(input.lookback_minutes !== undefined ? { lookback_minutes: input.lookback_minutes } : {}),
              ...(input.order_number_prefix !== undefined
                ? { order_number_prefix: input.order_number_prefix }
                : {}),
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          const outcome = await rerouteMerchant(trx, merchantId);
          return { store: storeView(row), username, password, rerouted: outcome.moved };
        });
      } catch (e) {
        // A generated username colliding with another store's: draw again.
        if (attempt < 3 && isUniqueViolation(e)) continue;
        throw e;
      }
    }
  }

  async list(
    merchantId: number,
    opts: { after?: number | undefined; limit: number; includeRetired: boolean },
  ): Promise<Page<StoreView>> {
    let q = this.db
      .selectFrom('stores')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .orderBy('id')
      .limit(opts.limit + 1);
    if (!opts.includeRetired) q = q.where('retired_at', 'is', null);
    if (opts.after !== undefined) q = q.where('id', '>', opts.after);
    const page = pageById(await q.execute(), opts.limit);
    return { rows: page.rows.map(storeView), next: page.next };
  }

  private async find(db: Kysely<DB>, merchantId: number, storeId: number, lock = false): Promise<Store> {
    let q = db
      .selectFrom('stores')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('id', '=', storeId);
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw notFound(`store ${storeId}`);
    return row;
  }

  async get(merchantId: number, storeId: number): Promise<{ store: StoreView; health: StoreHealth }> {
    const row = await this.find(this.db, merchantId, storeId);
    const alerts = await this.db
      .selectFrom('alerts')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('merchant_id', '=', merchantId)
      .where('store_id', '=', storeId)
      .where('dismissed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return {
      store: storeView(row),
      health: {
        last_export_at: row.last_export_at,
        last_window:
          row.last_window_start && row.last_window_end
            ? { start: row.last_window_start, end: row.last_window_end }
            : null,
        last_notice_at: row.last_notice_at,
        open_alerts: alerts.n,
      },
    };
  }

  async update(
    merchantId: number,
    storeId: number,
    patch: StorePatch,
  ): Promise<{ store: StoreView; rerouted: number }> {
    return this.change(merchantId, async (trx) => {
      const before = await this.find(trx, merchantId, storeId, true);
      const values = {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.order_sources !== undefined ? { order_sources: unique(patch.order_sources)! } : {}),
        ...(patch.include_tags !== undefined ? { include_tags: unique(patch.include_tags)! } : {}),
        ...(patch.exclude_tags !== undefined ? { exclude_tags: unique(patch.exclude_tags)! } : {}),
        ...(patch.priority !== undefined ? { priority: patch.priority } : {}),
        ...(patch.page_size !== undefined ? { page_size: patch.page_size } : {}),
        ...(patch.timezone !== undefined ? { timezone: canonicalZone(patch.timezone) } : {}),
        ...(patch.lookback_minutes !== undefined ? { lookback_minutes: patch.lookback_minutes } : {}),
        ...(patch.order_number_prefix !== undefined
          ? { order_number_prefix: patch.order_number_prefix }
          : {}),
      };
      const changed = (Object.keys(values) as (keyof typeof values)[]).filter(
        (k) => JSON.stringify(values[k]) !== JSON.stringify(before[k]),
      );
      if (changed.length === 0) return { store: storeView(before), rerouted: 0 };
      const row = await trx
        .updateTable('stores')
        .set({ ...values, updated_at: sql`now()` })
        .where('merchant_id', '=', merchantId)
        .where('id', '=', storeId)
        .returningAll()
        .executeTakeFirstOrThrow();
      // The name appears in the reasons of unrouted orders; filters and priority decide where orders go.
      const reroute =
        row.retired_at === null && changed.some((k) => k === 'name' || ROUTING_SETTINGS.includes(k));
      const outcome = reroute ? await rerouteMerchant(trx, merchantId) : { moved: 0 };
      return { store: storeView(row), rerouted: outcome.moved };
    });
  }

  /**
   * Retires a connection: it takes no new orders, its unpinned orders are re-routed, its pinned ones
   * stay; the merchant's rules that route to it become invalid, each with a `rule_invalid` alert.
   */
  async retire(merchantId: number, storeId: number): Promise<{ store: StoreView; rerouted: number }> {
    return this.change(merchantId, async (trx) => {
      const before = await this.find(trx, merchantId, storeId, true);
      if (before.retired_at !== null) return { store: storeView(before), rerouted: 0 };
      const row = await trx
        .updateTable('stores')
        .set({ retired_at: sql`now()`, updated_at: sql`now()` })
        .where('merchant_id', '=', merchantId)
        .where('id', '=', storeId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const outcome = await rerouteMerchant(trx, merchantId);
      // Rules that route to it no longer hold as written: marked invalid, one alert each.
      await invalidateRulesRoutingTo(trx, merchantId, storeId);
      return { store: storeView(row), rerouted: outcome.moved };
    });
  }

  /** A new password; the old one stops working at once. */
  async rotatePassword(merchantId: number, storeId: number): Promise<{ store: StoreView; password: string }> {
    const password = generateSecret();
    const row = await this.db
      .updateTable('stores')
      .set({
        password_hash: this.hasher.hash(password),
        password_rotated_at: sql`now()`,
        updated_at: sql`now()`,
      })
      .where('merchant_id', '=', merchantId)
      .where('id', '=', storeId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound(`store ${storeId}`);
    return { store: storeView(row), password };
  }
}
