/**
 * One pull of a ShipStation source: every order modified since the cursor (less an overlap), in
 * modifyDate order, page by page; new orders that pass the filters are taken through the order
 * door (ingest.ts), and later changes of taken orders are applied. The cursor moves after each page
 * is stored, so a crash repeats work and never skips it; repeating is harmless (orders are keyed on
 * ShipStation's orderId, and an unchanged order changes nothing).
 *
 * No transaction is open across a call to ShipStation.
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DB, OrderStatus, SourceRow } from '../db/schema.js';
import type { SecretBox } from '../lib/secrets.js';
import { raiseAlerts, type SourceAlert } from './alerts.js';
import { ShipStationApi } from './api.js';
import { formatPacific } from './dates.js';
import {
  createOrders,
  type MerchantRef,
  orderByNumber,
  orderStates,
  replaceFromSource,
  transitionFromSource,
} from './ingest.js';
import { factsOf, type SsOrder, type SsOrderFacts, ssOrderSchema, toOrderInput } from './mapping.js';
import {
  FIRST_PULL_LOOKBACK_MS,
  PAGE_SIZE,
  PULL_OVERLAP_MS,
  reactionTo,
  resolveTag,
  type TagFilter,
  takes,
} from './model.js';
import { openAccount } from './repository.js';

export interface PullDeps {
  db: Kysely<DB>;
  box: SecretBox;
  apiUrl: string;
  /** Per call (default 30 s): a slow ShipStation fails this pull, never stalls others. */
  timeoutMs?: number | undefined;
  /** How long one run may pull before it hands over (the rest follows at once, from the cursor). */
  budgetMs?: number | undefined;
  /** Tests: runs after a page's orders are stored and before the cursor moves over them. */
  beforeCursorMove?: ((sourceId: number) => Promise<void> | void) | undefined;
}

export interface PullContext {
  clock: () => Date;
  signal: AbortSignal;
}

export interface PullResult {
  /** Orders taken, changed or refused in this run. */
  orders: number;
  /** The run stopped at its budget; the pull goes on from the cursor. */
  more: boolean;
}

interface Page {
  orders: unknown[];
  total?: number;
  page?: number;
  pages?: number;
}

interface Seen {
  raw: SsOrder;
  facts: SsOrderFacts;
}

const DEFAULT_BUDGET_MS = 40_000;

export async function pullSource(deps: PullDeps, source: SourceRow, ctx: PullContext): Promise<PullResult> {
  const started = ctx.clock();
  const deadline = started.getTime() + (deps.budgetMs ?? DEFAULT_BUDGET_MS);
  const api = new ShipStationApi(openAccount(deps.box, source), {
    baseUrl: deps.apiUrl,
    db: deps.db,
    clock: ctx.clock,
    signal: ctx.signal,
    timeoutMs: deps.timeoutMs,
    // A longer wait for the key pair's budget ends the run; the job comes back when the window ends.
    maxWaitMs: 15_000,
  });
  const merchant = await deps.db
    .selectFrom('merchants')
    .select(['id', 'code'])
    .where('id', '=', source.merchant_id)
    .executeTakeFirstOrThrow();
  const tag: TagFilter | null =
    source.tag_mode && source.tag_name !== null ? { mode: source.tag_mode, name: source.tag_name } : null;

  // Tag names for the orders' tags, and the filter's tag id: read at every pull, and again when an
  // order carries an id not seen yet (a tag made since).
  const tags = { names: new Map<number, string>(), filterId: null as number | null };
  const loadTags = async () => {
    const list = await api.get<{ tagId: number; name: string }[]>('/accounts/listtags');
    tags.names = new Map(list.map((t) => [t.tagId, t.name]));
    tags.filterId = tag ? resolveTag(list, tag.name) : null;
  };
  await loadTags();

  const work = new PageWork(deps, source, merchant, tag, tags);
  const seen = new Map<number, number>();
  /** The page's orders not seen yet in this pull (or changed since), and its newest modifyDate. */
  const fresh = (orders: unknown[]): { batch: Seen[]; newest: Date | null } => {
    const batch: Seen[] = [];
    let newest: Date | null = null;
    for (const raw of orders) {
      const parsed = ssOrderSchema.safeParse(raw);
      const facts = parsed.success ? factsOf(parsed.data) : null;
      if (!parsed.success || !facts) continue;
      if (!newest || facts.modifyDate > newest) newest = facts.modifyDate;
      // Repeats (the keyset's overlap, an order on two pages) are dropped by orderId and modifyDate.
      const before = seen.get(facts.orderId);
      if (before !== undefined && before >= facts.modifyDate.getTime()) continue;
      seen.set(facts.orderId, facts.modifyDate.getTime());
      batch.push({ raw: parsed.data, facts });
    }
    return { batch, newest };
  };

  // Whole seconds are ShipStation's finest filter: the end is rounded up, so nothing changed before
  // the pull began is left out.
  const end = formatPacific(new Date(started.getTime() + 1000));
  const from = source.cursor
    ? new Date(source.cursor.getTime() - PULL_OVERLAP_MS)
    : (source.earliest_order_date ?? new Date(source.created_at.getTime() - FIRST_PULL_LOOKBACK_MS));
  let startText = formatPacific(from);
  let page = 1;
  let count = 0;
  const outOfTime = () => ctx.clock().getTime() > deadline || ctx.signal.aborted;
  for (;;) {
    if (outOfTime()) return { orders: count, more: true };
    const res = await api.get<Page>('/orders', {
      sortBy: 'ModifyDate',
      sortDir: 'ASC',
      pageSize: PAGE_SIZE,
      page,
      modifyDateStart: startText,
      modifyDateEnd: end,
      storeId: source.store_id ?? undefined,
    });
    const orders = Array.isArray(res.orders) ? res.orders : [];
    const { batch, newest } = fresh(orders);
    if (batch.some((o) => o.facts.tagIds.some((id) => !tags.names.has(id)))) await loadTags();
    count += await work.apply(batch);
    if (newest) {
      await deps.beforeCursorMove?.(source.id);
      await deps.db
        .updateTable('sources')
        .set({ cursor: sql<Date>`greatest(cursor, ${newest}::timestamptz)` })
        .where('id', '=', source.id)
        .execute();
    }
    if (orders.length < PAGE_SIZE || (res.pages ?? 0) <= page || !newest) break;
    // Keyset: the next page starts at this page's newest modifyDate (seconds are ShipStation's
    // finest filter, so a second holding more than a page is walked by page number instead).
    const next = formatPacific(newest);
    if (next === startText) page++;
    else {
      startText = next;
      page = 1;
    }
  }

  // Include mode: an order tagged after its last change (tagging need not move modifyDate) is found
  // by its tag.
  if (tag?.mode === 'include' && tags.filterId !== null) {
    for (const status of source.order_statuses) {
      for (let p = 1; ; p++) {
        if (outOfTime()) return { orders: count, more: true };
        const res = await api.get<Page>('/orders/listbytag', {
          orderStatus: status,
          tagId: tags.filterId,
          page: p,
          pageSize: PAGE_SIZE,
        });
        const orders = Array.isArray(res.orders) ? res.orders : [];
        count += await work.apply(fresh(orders).batch);
        if (orders.length < PAGE_SIZE || (res.pages ?? 0) <= p) break;
      }
    }
  }
  return { orders: count, more: false };
}

interface Existing {
  ss_order_id: number;
  order_id: number | null;
  state: 'taken' | 'refused' | 'held';
  modify_date: Date;
  ss_status: string;
  input_hash: string;
  held_by_source: boolean;
}

interface RowWrite {
  ss_order_id: number;
  order_id: number | null;
  state: 'taken' | 'refused' | 'held';
  reason: string | null;
  modify_date: string;
  ss_status: string;
  input_hash: string;
  held_by_source: boolean;
}

/** A hash of the order as mapped, less its requested status (changes of status are reactions, not edits). */
function inputHash(input: Record<string, unknown>): string {
  const { status: _status, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** What one page's orders do here. */
class PageWork {
  constructor(
    private readonly deps: PullDeps,
    private readonly source: SourceRow,
    private readonly merchant: MerchantRef,
    private readonly tag: TagFilter | null,
    private readonly tags: { names: Map<number, string>; filterId: number | null },
  ) {}

  async apply(batch: Seen[]): Promise<number> {
    if (batch.length === 0) return 0;
    const { db } = this.deps;
    const s = this.source;
    const ids = batch.map((o) => o.facts.orderId);
    const existing = new Map(
      (
        await db
          .selectFrom('source_orders')
          .select([
            'ss_order_id',
            'order_id',
            'state',
            'modify_date',
            'ss_status',
            'input_hash',
            'held_by_source',
          ])
          .where('source_id', '=', s.id)
          .where('ss_order_id', 'in', ids)
          .execute()
      ).map((r) => [Number(r.ss_order_id), { ...r, ss_order_id: Number(r.ss_order_id) } as Existing]),
    );
    // Orders of this source related to the page's split or merged orders.
    const related = [
      ...new Set(
        batch.flatMap((o) => [
          ...(o.facts.parentId !== null ? [o.facts.parentId] : []),
          ...o.facts.mergedIds,
        ]),
      ),
    ];
    const pulled = new Set(
      related.length === 0
        ? []
        : (
            await db
              .selectFrom('source_orders')
              .select('ss_order_id')
              .where('source_id', '=', s.id)
              .where('ss_order_id', 'in', related)
              .where('state', '=', 'taken')
              .execute()
          ).map((r) => Number(r.ss_order_id)),
    );
    const settings = {
      orderStatuses: s.order_statuses,
      storeId: s.store_id === null ? null : Number(s.store_id),
      tag: this.tag,
      earliestOrderDate: s.earliest_order_date,
    };

    const writes: RowWrite[] = [];
    const alerts: SourceAlert[] = [];
    const creating: { o: Seen; input: Record<string, unknown>; hash: string }[] = [];
    const changing: { o: Seen; ex: Existing }[] = [];
    for (const o of batch) {
      const ex = existing.get(o.facts.orderId);
      if (ex && o.facts.modifyDate.getTime() <= ex.modify_date.getTime()) continue;
      if (ex?.state === 'taken') {
        changing.push({ o, ex });
        continue;
      }
      if (ex?.state === 'held') continue;
      if (!takes(settings, this.tags.filterId, o.facts)) continue;
      const input = toOrderInput(o.raw, s.name, this.tags.names);
      const hash = inputHash(input);
      const family = [...(o.facts.parentId !== null ? [o.facts.parentId] : []), ...o.facts.mergedIds];
      if ((o.facts.parentId !== null || o.facts.mergedOrSplit) && family.some((id) => pulled.has(id))) {
        writes.push(this.row(o, null, 'held', 'split or merged from orders already pulled', hash, false));
        alerts.push({
          kind: 'source_order_held',
          message: `ShipStation order ${o.facts.orderNumber} (orderId ${o.facts.orderId}) was split or merged from orders already pulled; it is kept back: check the warehouse's orders and enter it by hand if it must ship`,
          data: { ss_order_id: o.facts.orderId, order_number: o.facts.orderNumber, related: family },
        });
        continue;
      }
      creating.push({ o, input, hash });
    }

    let count = 0;
    if (creating.length > 0) {
      const results = await createOrders(
        db,
        this.merchant,
        s.id,
        creating.map((c) => c.input),
      );
      for (let i = 0; i < creating.length; i++) {
        const { o, input, hash } = creating[i]!;
        const r = results[i]!;
        const held = o.facts.status === 'on_hold';
        count++;
        if (r.result === 'created') {
          writes.push(this.row(o, r.order.id, 'taken', null, hash, held));
          continue;
        }
        if (r.result === 'invalid') {
          const details =
            r.error.details?.map((d) => `${d.path.replace(/^orders\[\d+\]\.?/, '')}: ${d.message}`) ?? [];
          writes.push(this.row(o, null, 'refused', details.join('; ') || r.error.message, hash, false));
          alerts.push({
            kind: 'source_order_refused',
            message: `ShipStation order ${o.facts.orderNumber} (orderId ${o.facts.orderId}) was refused: ${details.join('; ') || r.error.message}; fix it in ShipStation and it is pulled again`,
            data: { ss_order_id: o.facts.orderId, order_number: o.facts.orderNumber, details },
          });
          continue;
        }
        // The number exists here already: ours from an earlier pull that stopped before recording
        // it (adopt it), or another ShipStation order with the same number (keep this one back).
        const existingId =
          r.result === 'duplicate'
            ? r.order.id
            : await orderByNumber(db, this.merchant.id, s.name, o.facts.orderNumber);
        const linked =
          existingId === null
            ? undefined
            : await db
                .selectFrom('source_orders')
                .select(['source_id', 'ss_order_id'])
                .where('merchant_id', '=', this.merchant.id)
                .where('order_id', '=', existingId)
                .executeTakeFirst();
        const claimedHere = existingId !== null && writes.some((w) => w.order_id === existingId);
        if (existingId === null || linked || claimedHere) {
          writes.push(this.row(o, null, 'held', 'its order number is taken by another order', hash, false));
          alerts.push({
            kind: 'source_order_held',
            message: `ShipStation order ${o.facts.orderNumber} (orderId ${o.facts.orderId}) has the number of another order of source '${s.name}'${existingId === null ? '' : ` (order ${existingId})`}; it is kept back: enter it by hand if it must ship`,
            orderId: existingId,
            data: { ss_order_id: o.facts.orderId, order_number: o.facts.orderNumber },
          });
          continue;
        }
        if (r.result === 'conflict') {
          const out = await replaceFromSource(db, this.merchant, s.id, existingId, input);
          if (!out.ok)
            alerts.push({
              kind: 'source_change_refused',
              message: `order ${o.facts.orderNumber}: ShipStation's version could not be applied: ${out.message}`,
              orderId: existingId,
              data: { ss_order_id: o.facts.orderId },
            });
        }
        writes.push(this.row(o, existingId, 'taken', null, hash, held));
      }
    }

    if (changing.length > 0) {
      const states = await orderStates(
        db,
        this.merchant.id,
        changing.map((c) => c.ex.order_id!),
      );
      for (const { o, ex } of changing) {
        count++;
        const orderId = ex.order_id!;
        const input = toOrderInput(o.raw, s.name, this.tags.names);
        const hash = inputHash(input);
        let heldBySource = ex.held_by_source;
        const where = `order ${o.facts.orderNumber}`;
        // A cancellation is what matters then; its other edits are not applied.
        if (hash !== ex.input_hash && o.facts.status !== 'cancelled') {
          const out = await replaceFromSource(db, this.merchant, s.id, orderId, input);
          if (!out.ok)
            alerts.push({
              kind: 'source_change_refused',
              message: `${where}: a change made in ShipStation could not be applied: ${out.message}`,
              orderId,
              data: { ss_order_id: o.facts.orderId },
            });
        }
        const state = states.get(orderId);
        if (state) {
          const reaction = reactionTo(ex.ss_status, o.facts.status, {
            status: state.status as OrderStatus,
            served: state.served,
            heldBySource: ex.held_by_source,
          });
          if (reaction.kind === 'transition') {
            const out = await transitionFromSource(
              db,
              this.merchant,
              s.id,
              orderId,
              reaction.event,
              reaction.reason,
            );
            if (out.ok) {
              if (reaction.event === 'hold') heldBySource = true;
              if (reaction.event === 'release') heldBySource = false;
            } else
              alerts.push({
                kind: 'source_change_refused',
                message: `${where}: ${reaction.reason}, but it could not be done here: ${out.message}`,
                orderId,
                data: { ss_order_id: o.facts.orderId },
              });
          } else if (reaction.kind === 'alert') {
            alerts.push({
              kind: reaction.alert,
              message: `${where} ${reaction.message}`,
              orderId,
              data: { ss_order_id: o.facts.orderId },
            });
          }
        }
        writes.push(this.row(o, orderId, 'taken', null, hash, heldBySource));
      }
    }

    if (writes.length > 0 || alerts.length > 0) {
      await db.transaction().execute(async (trx) => {
        if (writes.length > 0)
          await sql`
            insert into source_orders as so (source_id, ss_order_id, merchant_id, order_id, state, reason, modify_date,
              ss_status, input_hash, held_by_source)
            select ${s.id}, w.ss_order_id, ${this.merchant.id}, w.order_id, w.state, w.reason, w.modify_date,
              w.ss_status, w.input_hash, w.held_by_source
            from jsonb_to_recordset(${JSON.stringify(writes)}::jsonb) as w(ss_order_id bigint, order_id bigint,
              state text, reason text, modify_date timestamptz, ss_status text, input_hash text, held_by_source boolean)
            order by w.ss_order_id
            on conflict (source_id, ss_order_id) do update set
              order_id = coalesce(so.order_id, excluded.order_id), state = excluded.state, reason = excluded.reason,
              modify_date = greatest(so.modify_date, excluded.modify_date), ss_status = excluded.ss_status,
              input_hash = excluded.input_hash, held_by_source = excluded.held_by_source, updated_at = now()
          `.execute(trx);
        await raiseAlerts(trx, this.merchant.id, s.id, alerts);
      });
    }
    return count;
  }

  private row(
    o: Seen,
    orderId: number | null,
    state: RowWrite['state'],
    reason: string | null,
    hash: string,
    heldBySource: boolean,
  ): RowWrite {
    return {
      ss_order_id: o.facts.orderId,
      order_id: orderId,
      state,
      reason,
      modify_date: o.facts.modifyDate.toISOString(),
      ss_status: o.facts.status,
      input_hash: hash,
      held_by_source: heldBySource,
    };
  }
}
