/**
 * Webhook subscriptions of a merchant or a warehouse: create (secret shown once, stored sealed),
 * read, change, delete, rotate the secret (the old one keeps signing for a grace period), and the
 * delivery log with manual retry.
 */
import { type Kysely, sql } from 'kysely';
import type { DB, WebhookRow } from '../db/schema.js';
import { conflict, invalid, notFound } from '../http/errors.js';
import { enqueue } from '../jobs/queue.js';
import { pageById } from '../lib/cursor.js';
import type { SecretBox } from '../lib/secrets.js';
import { newSigningKey } from './signing.js';
import { urlProblem } from './ssrf.js';

/** Whose webhooks: a merchant's own, or a warehouse's (for all its merchants). */
export type Owner =
  | { kind: 'merchant'; id: number; code: string }
  | { kind: 'warehouse'; id: number; code: string };

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_GRACE_MS = 24 * 3600 * 1000;

export const DELIVER_JOB = 'webhook.deliver';

export interface WebhookView {
  id: number;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  merchant: string | null;
  warehouse: string | null;
  previous_secret_expires_at: Date | null;
  last_success_at: Date | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toView(owner: Owner, w: WebhookRow, now: Date): WebhookView {
  const grace = w.previous_secret_expires_at;
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    disabled_reason: w.disabled_reason,
    merchant: owner.kind === 'merchant' ? owner.code : null,
    warehouse: owner.kind === 'warehouse' ? owner.code : null,
    previous_secret_expires_at: grace && grace > now ? grace : null,
    last_success_at: w.last_success_at,
    failing_since: w.failing_since,
    created_at: w.created_at,
    updated_at: w.updated_at,
  };
}

const ownedBy = (owner: Owner) =>
  owner.kind === 'merchant' ? ('merchant_id' as const) : ('warehouse_id' as const);

async function checkUrl(url: string, allowPrivate: boolean): Promise<void> {
  const problem = await urlProblem(url, allowPrivate);
  if (problem) throw invalid('invalid webhook URL', [{ path: 'url', message: problem }]);
}

export class WebhooksRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly box: SecretBox,
    private readonly allowPrivate: boolean,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async create(
    owner: Owner,
    input: { url: string; events: string[]; description?: string | undefined },
  ): Promise<{ webhook: WebhookView; secret: string }> {
    await checkUrl(input.url, this.allowPrivate);
    const { key, secret } = newSigningKey();
    const sealed = this.box.seal(key);
    const row = await this.db
      .insertInto('webhooks')
      .values({
        [ownedBy(owner)]: owner.id,
        url: input.url,
        events: [...new Set(input.events)],
        description: input.description ?? null,
        secret: sealed.sealed,
        secret_key_id: sealed.keyId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { webhook: toView(owner, row, this.clock()), secret };
  }

  async list(owner: Owner): Promise<WebhookView[]> {
    const rows = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .where(ownedBy(owner), '=', owner.id)
      .orderBy('id')
      .execute();
    const now = this.clock();
    return rows.map((r) => toView(owner, r, now));
  }

  private async row(db: Kysely<DB>, owner: Owner, id: number, lock = false): Promise<WebhookRow> {
    let q = db.selectFrom('webhooks').selectAll().where(ownedBy(owner), '=', owner.id).where('id', '=', id);
    if (lock) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw notFound(`webhook ${id}`);
    return row;
  }

  async get(owner: Owner, id: number): Promise<WebhookView> {
    return toView(owner, await this.row(this.db, owner, id), this.clock());
  }

  /** Changes url, events, description; `enabled: true` re-enables a disabled webhook (its failure clock restarts). */
  async update(
    owner: Owner,
    id: number,
    patch: {
      url?: string | undefined;
      events?: string[] | undefined;
      description?: string | null | undefined;
      enabled?: boolean | undefined;
    },
  ): Promise<WebhookView> {
    if (patch.url !== undefined) await checkUrl(patch.url, this.allowPrivate);
    await this.row(this.db, owner, id);
    const row = await this.db
      .updateTable('webhooks')
      .set({
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.events !== undefined ? { events: [...new Set(patch.events)] } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.enabled === true ? { enabled: true, disabled_reason: null, failing_since: null } : {}),
        ...(patch.enabled === false ? { enabled: false, disabled_reason: 'disabled by a person' } : {}),
        updated_at: this.clock(),
      })
      .where(ownedBy(owner), '=', owner.id)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toView(owner, row, this.clock());
  }

  async delete(owner: Owner, id: number): Promise<void> {
    const r = await this.db
      .deleteFrom('webhooks')
      .where(ownedBy(owner), '=', owner.id)
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`webhook ${id}`);
  }

  /** A new secret; the current one keeps signing (beside it) for ROTATION_GRACE_MS. */
  async rotateSecret(owner: Owner, id: number): Promise<{ webhook: WebhookView; secret: string }> {
    return this.db.transaction().execute(async (trx) => {
      const current = await this.row(trx, owner, id, true);
      const { key, secret } = newSigningKey();
      const sealed = this.box.seal(key);
      const now = this.clock();
      const row = await trx
        .updateTable('webhooks')
        .set({
          previous_secret: current.secret,
          previous_secret_expires_at: new Date(now.getTime() + ROTATION_GRACE_MS),
          secret: sealed.sealed,
          secret_key_id: sealed.keyId,
          updated_at: now,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { webhook: toView(owner, row, now), secret };
    });
  }

  /** The keys that sign now: the current one, and the previous one during its grace period. */
  signingKeys(
    w: Pick<WebhookRow, 'secret' | 'secret_key_id' | 'previous_secret' | 'previous_secret_expires_at'>,
    now: Date,
  ): Buffer[] {
    const keys = [this.box.open(w.secret, w.secret_key_id)];
    if (w.previous_secret && w.previous_secret_expires_at && w.previous_secret_expires_at > now)
      keys.push(this.box.open(w.previous_secret, w.secret_key_id));
    return keys;
  }

  async deliveries(owner: Owner, webhookId: number, before: number | undefined, limit: number) {
    await this.row(this.db, owner, webhookId);
    let q = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
      .leftJoin('jobs as j', 'j.id', 'd.job_id')
      .select([
        'd.id',
        'd.event_id',
        'e.type',
        'e.order_id',
        'd.status',
        'd.attempts',
        'd.last_status_code',
        'd.last_error',
        'd.last_duration_ms',
        'd.last_attempt_at',
        'd.created_at',
        'd.delivered_at',
        sql<Date | null>`case when d.status = 'pending' then j.run_at end`.as('next_attempt_at'),
        sql<
          {
            at: string;
            status_code: number | null;
            error: string | null;
            duration_ms: number;
            response_body: string | null;
          }[]
        >`coalesce((select json_agg(json_build_object('at', a.at, 'status_code', a.status_code, 'error', a.error,
            'duration_ms', a.duration_ms, 'response_body', a.response_body) order by a.id)
          from webhook_attempts a where a.delivery_id = d.id), '[]'::json)`.as('attempt_log'),
      ])
      .where('d.webhook_id', '=', webhookId)
      .orderBy('d.id', 'desc')
      .limit(limit + 1);
    if (before !== undefined) q = q.where('d.id', '<', before);
    const page = pageById(await q.execute(), limit);
    return {
      rows: page.rows.map(({ attempt_log, ...d }) => ({
        ...d,
        event_id: `evt_${d.event_id}`,
        attempt_log: attempt_log.map((a) => ({ ...a, at: new Date(a.at) })),
      })),
      next: page.next,
    };
  }

  /**
   * Delivers again: a finished delivery (succeeded, failed, skipped) gets one more attempt at once;
   * a pending one is brought forward to now. 409 while an attempt is in flight.
   */
  async retry(owner: Owner, webhookId: number, deliveryId: number): Promise<{ id: number; status: string }> {
    return this.db.transaction().execute(async (trx) => {
      const w = await this.row(trx, owner, webhookId);
      if (!w.enabled)
        throw conflict(
          `webhook ${webhookId} is disabled (${w.disabled_reason ?? 'by a person'}): enable it first`,
        );
      const d = await trx
        .selectFrom('webhook_deliveries as d')
        .leftJoin('jobs as j', 'j.id', 'd.job_id')
        .select(['d.id', 'd.status', 'd.job_id', 'j.status as job_status'])
        .where('d.webhook_id', '=', webhookId)
        .where('d.id', '=', deliveryId)
        .forUpdate('d')
        .executeTakeFirst();
      if (!d) throw notFound(`delivery ${deliveryId}`);
      const now = this.clock();
      if (d.job_status === 'running') throw conflict(`delivery ${deliveryId} is being attempted right now`);
      if (d.status === 'pending' && d.job_status === 'pending') {
        await trx
          .updateTable('jobs')
          .set({ run_at: now, updated_at: now })
          .where('id', '=', d.job_id!)
          .execute();
        return { id: d.id, status: 'pending' };
      }
      const jobId = await enqueue(
        trx,
        DELIVER_JOB,
        { delivery_id: d.id, manual: true },
        { runAt: now, maxAttempts: 1 },
      );
      await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', job_id: jobId })
        .where('id', '=', d.id)
        .execute();
      return { id: d.id, status: 'pending' };
    });
  }
}
