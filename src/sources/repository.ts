/**
 * Source connections of a merchant: create (the API secret sealed, never answered), read with
 * health, change, retire, and the pull job of each (one row per source in the jobs table, re-armed
 * after every pull, so one instance pulls a source at a time).
 */
import { type Kysely, sql, type Updateable } from 'kysely';
import type { DB, SourceOrderState, SourceRow, SourcesTable } from '../db/schema.js';
import type { Actor } from '../domain/order-events.js';
import { type Page, pageOf } from '../lib/cursor.js';
import { releaseWithheld } from '../orders/service.js';
import type { OrderView } from '../orders/view.js';
import { conflict, notFound } from '../http/errors.js';
import { enqueue } from '../jobs/queue.js';
import type { SecretBox, SecretHasher } from '../lib/secrets.js';
import type { ApiAccount } from './api.js';
import { DEFAULT_ORDER_STATUSES, POLL_MINUTES, type TagFilter } from './model.js';

export const PULL_JOB = 'source.pull';
export const MARK_SHIPPED_JOB = 'source.mark_shipped';
/** The pull job settles itself (it never fails for good); attempts are only counted. */
const PULL_MAX_ATTEMPTS = 1_000_000;
export const pullSingleton = (sourceId: number) => `${PULL_JOB}:${sourceId}`;

export interface SourceInput {
  type: 'shipstation';
  name: string;
  api_key: string;
  api_secret: string;
  store_id?: number | null | undefined;
  order_statuses?: string[] | undefined;
  tag?: TagFilter | null | undefined;
  poll_minutes?: number | undefined;
  earliest_order_date?: string | null | undefined;
}

export interface SourcePatch {
  name?: string | undefined;
  api_key?: string | undefined;
  api_secret?: string | undefined;
  store_id?: number | null | undefined;
  order_statuses?: string[] | undefined;
  tag?: TagFilter | null | undefined;
  poll_minutes?: number | undefined;
  earliest_order_date?: string | null | undefined;
  enabled?: boolean | undefined;
}

export interface SourceView {
  id: number;
  type: 'shipstation';
  name: string;
  merchant: string;
  api_key: string;
  store_id: number | null;
  order_statuses: string[];
  tag: TagFilter | null;
  poll_minutes: number;
  earliest_order_date: Date | null;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
  health: {
    last_pull_at: Date | null;
    last_pull_error: string | null;
    last_pull_orders: number | null;
    cursor: Date | null;
    next_pull_at: Date | null;
    orders_taken: number;
    open_alerts: number;
  };
}

export interface MerchantRef {
  id: number;
  code: string;
}

/** A ShipStation order as its source saw it (GET …/sources/{id}/orders). */
export interface SourceOrderView {
  ss_order_id: number;
  order_number: string | null;
  state: SourceOrderState;
  reason: string | null;
  details: { path: string; message: string }[];
  order_id: number | null;
  ss_status: string;
  modify_date: Date;
  created_at: Date;
  updated_at: Date;
}

const SOURCE_ORDER_COLUMNS = [
  'ss_order_id',
  'order_number',
  'state',
  'reason',
  'details',
  'order_id',
  'ss_status',
  'modify_date',
  'created_at',
  'updated_at',
] as const;

function sourceOrderView(
  r: Omit<SourceOrderView, 'details'> & { details: SourceOrderView['details'] | null },
): SourceOrderView {
  return {
    ...r,
    ss_order_id: Number(r.ss_order_id),
    order_id: r.order_id === null ? null : Number(r.order_id),
    details: r.details ?? [],
  };
}

export class SourcesRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly hasher: SecretHasher,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The key pair's name for pacing: an HMAC, so neither half is kept in the clear under it. */
  keyPair(apiKey: string, apiSecret: string): string {
    return this.hasher.hash(`shipstation\n${apiKey}\n${apiSecret}`).toString('hex').slice(0, 32);
  }

  async create(merchant: MerchantRef, input: SourceInput): Promise<SourceView> {
    const sealed = this.hasher.box.seal(Buffer.from(input.api_secret, 'utf8'));
    const now = this.clock();
    const id = await this.db.transaction().execute(async (trx) => {
      const taken = await trx
        .selectFrom('sources')
        .select('id')
        .where('merchant_id', '=', merchant.id)
        .where('name', '=', input.name)
        .executeTakeFirst();
      if (taken)
        throw conflict(`the merchant already has a source named '${input.name}' (id ${taken.id})`, [
          { path: 'name', message: 'exists' },
        ]);
      const row = await trx
        .insertInto('sources')
        .values({
          merchant_id: merchant.id,
          type: input.type,
          name: input.name,
          api_key: input.api_key,
          api_secret: sealed.sealed,
          api_secret_key_id: sealed.keyId,
          key_pair: this.keyPair(input.api_key, input.api_secret),
          store_id: input.store_id ?? null,
          order_statuses: input.order_statuses ?? [...DEFAULT_ORDER_STATUSES],
          tag_mode: input.tag?.mode ?? null,
          tag_name: input.tag?.name ?? null,
          poll_minutes: input.poll_minutes ?? POLL_MINUTES.default,
          earliest_order_date: input.earliest_order_date ?? null,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await enqueue(
        trx,
        PULL_JOB,
        { source_id: row.id },
        {
          runAt: now,
          maxAttempts: PULL_MAX_ATTEMPTS,
          singleton: pullSingleton(row.id),
        },
      );
      return row.id;
    });
    return this.get(merchant, id);
  }

  async list(merchant: MerchantRef): Promise<SourceView[]> {
    const rows = await this.db
      .selectFrom('sources')
      .selectAll()
      .where('merchant_id', '=', merchant.id)
      .where('retired_at', 'is', null)
      .orderBy('id')
      .execute();
    return this.views(merchant, rows);
  }

  async get(merchant: MerchantRef, id: number): Promise<SourceView> {
    const [v] = await this.views(merchant, [await this.row(this.db, merchant, id)]);
    return v!;
  }

  /** The merchant's source `id` (404 when it has none; a retired one only with `retired`). */
  async row(
    db: Kysely<DB>,
    merchant: MerchantRef,
    id: number,
    lock = false,
    retired = false,
  ): Promise<SourceRow> {
    let q = db.selectFrom('sources').selectAll().where('merchant_id', '=', merchant.id).where('id', '=', id);
    if (!retired) q = q.where('retired_at', 'is', null);
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw notFound(`source ${id}`);
    return row;
  }

  async update(merchant: MerchantRef, id: number, p: SourcePatch): Promise<SourceView> {
    const now = this.clock();
    await this.db.transaction().execute(async (trx) => {
      const row = await this.row(trx, merchant, id, true);
      if (p.name !== undefined && p.name !== row.name)
        throw conflict("a source's name is its orders' order_source and cannot change; create a new source", [
          { path: 'name', message: `is '${row.name}' and cannot change` },
        ]);
      const set: Updateable<SourcesTable> = { updated_at: now };
      const rekeyed = p.api_key !== undefined || p.api_secret !== undefined;
      if (rekeyed) {
        const key = p.api_key ?? row.api_key;
        const secret =
          p.api_secret ?? this.hasher.box.open(row.api_secret, row.api_secret_key_id).toString('utf8');
        const sealed = this.hasher.box.seal(Buffer.from(secret, 'utf8'));
        Object.assign(set, {
          api_key: key,
          api_secret: sealed.sealed,
          api_secret_key_id: sealed.keyId,
          key_pair: this.keyPair(key, secret),
        });
      }
      if (p.store_id !== undefined) set.store_id = p.store_id;
      if (p.order_statuses !== undefined) set.order_statuses = p.order_statuses;
      if (p.tag !== undefined)
        Object.assign(set, { tag_mode: p.tag?.mode ?? null, tag_name: p.tag?.name ?? null });
      if (p.poll_minutes !== undefined) set.poll_minutes = p.poll_minutes;
      if (p.earliest_order_date !== undefined) set.earliest_order_date = p.earliest_order_date;
      // New keys after a 401 are the usual way back: they re-enable, as {"enabled": true} does.
      const enable = p.enabled === true || (rekeyed && p.enabled !== false && !row.enabled);
      if (enable) Object.assign(set, { enabled: true, disabled_reason: null, failures: 0 });
      if (p.enabled === false)
        Object.assign(set, { enabled: false, disabled_reason: 'disabled by a person' });
      await trx.updateTable('sources').set(set).where('id', '=', id).execute();
      if (enable && !row.enabled) await armPull(trx, id, now);
    });
    return this.get(merchant, id);
  }

  /** Retires a source: it pulls no more; its orders stay, and their tracking still goes back. */
  async retire(merchant: MerchantRef, id: number): Promise<void> {
    const now = this.clock();
    const r = await this.db
      .updateTable('sources')
      .set({ retired_at: now, enabled: false, disabled_reason: 'retired', updated_at: now })
      .where('merchant_id', '=', merchant.id)
      .where('id', '=', id)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw notFound(`source ${id}`);
  }

  /** Pull now: the source's job is due at once (or, while a pull runs, another follows it at once). */
  async requestPull(merchant: MerchantRef, id: number): Promise<Date> {
    const now = this.clock();
    await this.db.transaction().execute(async (trx) => {
      const row = await this.row(trx, merchant, id, true);
      if (!row.enabled)
        throw conflict(
          `the source is disabled (${row.disabled_reason ?? 'no reason given'}); enable it first`,
          [{ path: 'enabled', message: 'is false' }],
        );
      await trx.updateTable('sources').set({ pull_requested_at: now }).where('id', '=', id).execute();
      await armPull(trx, id, now);
    });
    return now;
  }

  /**
   * The ShipStation orders a source has seen in the given states (refused: validation refused them;
   * held: stored withheld until a person releases them; taken), by ShipStation orderId.
   */
  async listOrders(
    merchant: MerchantRef,
    id: number,
    states: readonly SourceOrderState[],
    after: number | undefined,
    limit: number,
  ): Promise<Page<SourceOrderView>> {
    await this.row(this.db, merchant, id, false, true);
    let q = this.db
      .selectFrom('source_orders')
      .select(SOURCE_ORDER_COLUMNS)
      .where('source_id', '=', id)
      .where('state', 'in', [...states])
      .orderBy('ss_order_id')
      .limit(limit + 1);
    if (after !== undefined) q = q.where('ss_order_id', '>', after);
    const rows = (await q.execute()).map(sourceOrderView);
    return pageOf(rows, limit, (r) => r.ss_order_id);
  }

  /**
   * Releases a ShipStation order the source stored withheld: the order routes as usual from now on,
   * the source records it as taken, and its held alerts are dismissed, in one transaction.
   */
  async releaseOrder(
    merchant: MerchantRef,
    id: number,
    ssOrderId: number,
    actor: Actor,
  ): Promise<{ source_order: SourceOrderView; order: OrderView }> {
    await this.row(this.db, merchant, id, false, true);
    const so = await this.sourceOrder(this.db, id, ssOrderId);
    if (so.order_id === null)
      throw conflict(
        so.state === 'refused'
          ? `ShipStation order ${ssOrderId} was refused (${so.reason ?? 'invalid'}): fix it in ShipStation and the next pull takes it`
          : `ShipStation order ${ssOrderId} is not stored here (${so.reason ?? 'no order'}): enter it by hand if it must ship`,
        [{ path: 'ss_order_id', message: `is ${so.state} without an order` }],
      );
    const orderId = so.order_id;
    const order = await releaseWithheld(this.db, merchant, actor, orderId, async (trx) => {
      await trx
        .updateTable('source_orders')
        .set({ state: 'taken', reason: null, updated_at: sql<Date>`now()` })
        .where('source_id', '=', id)
        .where('ss_order_id', '=', ssOrderId)
        .execute();
      await trx
        .updateTable('alerts')
        .set({ dismissed_at: sql<Date>`now()`, dismissed_by: actor.actor })
        .where('merchant_id', '=', merchant.id)
        .where('order_id', '=', orderId)
        .where('kind', '=', 'source_order_held')
        .where('dismissed_at', 'is', null)
        .execute();
    });
    return { source_order: await this.sourceOrder(this.db, id, ssOrderId), order };
  }

  private async sourceOrder(db: Kysely<DB>, id: number, ssOrderId: number): Promise<SourceOrderView> {
    const row = await db
      .selectFrom('source_orders')
      .select(SOURCE_ORDER_COLUMNS)
      .where('source_id', '=', id)
      .where('ss_order_id', '=', ssOrderId)
      .executeTakeFirst();
    if (!row) throw notFound(`ShipStation order ${ssOrderId} of source ${id}`);
    return sourceOrderView(row);
  }

  account(row: SourceRow): ApiAccount {
    return openAccount(this.hasher.box, row);
  }

  private async views(merchant: MerchantRef, rows: SourceRow[]): Promise<SourceView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const taken = await this.db
      .selectFrom('source_orders')
      .select((eb) => ['source_id', eb.fn.countAll<number>().as('n')])
      .where('source_id', 'in', ids)
      .where('state', '=', 'taken')
      .groupBy('source_id')
      .execute();
    const alerts = await sql<{ source_id: number; n: number }>`
      select (data ->> 'source_id')::bigint as source_id, count(*)::int as n from alerts
      where merchant_id = ${merchant.id} and dismissed_at is null and kind like 'source%'
        and data ->> 'source_id' in (${sql.join(ids.map(String))})
      group by 1`.execute(this.db);
    const jobs = await this.db
      .selectFrom('jobs')
      .select(['singleton', 'run_at', 'status'])
      .where('singleton', 'in', ids.map(pullSingleton))
      .execute();
    const takenBy = new Map(taken.map((t) => [Number(t.source_id), Number(t.n)]));
    const alertsBy = new Map(alerts.rows.map((a) => [Number(a.source_id), Number(a.n)]));
    const jobBy = new Map(jobs.map((j) => [j.singleton, j]));
    return rows.map((r) => {
      const job = jobBy.get(pullSingleton(r.id));
      return {
        id: r.id,
        type: r.type,
        name: r.name,
        merchant: merchant.code,
        api_key: r.api_key,
        store_id: r.store_id === null ? null : Number(r.store_id),
        order_statuses: r.order_statuses,
        tag: r.tag_mode && r.tag_name !== null ? { mode: r.tag_mode, name: r.tag_name } : null,
        poll_minutes: r.poll_minutes,
        earliest_order_date: r.earliest_order_date,
        enabled: r.enabled,
        disabled_reason: r.disabled_reason,
        created_at: r.created_at,
        updated_at: r.updated_at,
        health: {
          last_pull_at: r.last_pull_at,
          last_pull_error: r.last_pull_error,
          last_pull_orders: r.last_pull_orders,
          cursor: r.cursor,
          next_pull_at: r.enabled && job?.status === 'pending' ? job.run_at : null,
          orders_taken: takenBy.get(r.id) ?? 0,
          open_alerts: alertsBy.get(r.id) ?? 0,
        },
      };
    });
  }
}

/** The key pair to call ShipStation with: the secret is opened only here, for the call. */
export function openAccount(
  box: SecretBox,
  row: Pick<SourceRow, 'api_key' | 'api_secret' | 'api_secret_key_id' | 'key_pair'>,
): ApiAccount {
  return {
    apiKey: row.api_key,
    apiSecret: box.open(row.api_secret, row.api_secret_key_id).toString('utf8'),
    keyPair: row.key_pair,
  };
}

/**
 * Makes the source's pull job due at `at`: a waiting job is brought forward, a finished one (a
 * disabled source's) comes back; a running one is left to its holder (pull_requested_at makes it
 * run again at once when it ends).
 */
export async function armPull(db: Kysely<DB>, sourceId: number, at: Date): Promise<void> {
  await sql`
    insert into jobs (kind, payload, run_at, max_attempts, singleton, created_at, updated_at)
    values (${PULL_JOB}, ${JSON.stringify({ source_id: sourceId })}::jsonb, ${at}::timestamptz,
      ${PULL_MAX_ATTEMPTS}, ${pullSingleton(sourceId)}, ${at}::timestamptz, ${at}::timestamptz)
    on conflict (singleton) do update set
      status = 'pending',
      run_at = case when jobs.status = 'pending' then least(jobs.run_at, excluded.run_at) else excluded.run_at end,
      attempts = case when jobs.status = 'pending' then jobs.attempts else 0 end,
      finished_at = null,
      updated_at = excluded.updated_at
    where jobs.status <> 'running'
  `.execute(db);
}
