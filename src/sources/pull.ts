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
  isWithheldNumber,
  reactionTo,
  resolveTag,
  type TagFilter,
  takes,
  withheldNumber,
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
  details: { path: string; message: string }[] | null;
  order_number: string;
  modify_date: string;
  ss_status: string;
  input_hash: string;
  held_by_source: boolean;
}

/** A ShipStation order about to be created here. */
interface Creating {
  o: Seen;
  input: Record<string, unknown>;
  hash: string;
  /** Why it is stored withheld (src/orders/withheld.ts); null: it routes as usual. */
  withheld: string | null;
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
              .where('order_id', 'is not', null)
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
    let creating: Creating[] = [];
    const changing: { o: Seen; ex: Existing }[] = [];
    for (const o of batch) {
      const ex = existing.get(o.facts.orderId);
      if (ex && o.facts.modifyDate.getTime() <= ex.modify_date.getTime()) continue;
      // An order stored here (taken, or withheld) follows every change; a refused one is taken anew.
      if (ex && ex.order_id !== null) {
        changing.push({ o, ex });
        continue;
      }
      if (!takes(settings, this.tags.filterId, o.facts)) continue;
      const input = toOrderInput(o.raw, s.name, this.tags.names);
      const hash = inputHash(input);
      const family = [...(o.facts.parentId !== null ? [o.facts.parentId] : []), ...o.facts.mergedIds];
      const split =
        (o.facts.parentId !== null || o.facts.mergedOrSplit) && family.some((id) => pulled.has(id));
      creating.push({
        o,
        input,
        hash,
        withheld: split
          ? `withheld: split or merged in ShipStation from orders this source already pulled (ShipStation orderIds ${family.join(', ')}), so it may ship twice; release it to route it`
          : null,
      });
    }

    let count = creating.length;
    // Two rounds at most: an order whose number another order of the source has is created again,
    // withheld, under a number of its own (withheldNumber).
    for (let round = 0; creating.length > 0; round++) {
      const withheld = new Map<number, string>();
      creating.forEach((c, i) => {
        if (c.withheld !== null) withheld.set(i, c.withheld);
      });
      const results = await createOrders(
        db,
        this.merchant,
        s.id,
        creating.map((c) => c.input),
        withheld,
      );
      const again: Creating[] = [];
      for (let i = 0; i < creating.length; i++) {
        const c = creating[i]!;
        const { o } = c;
        const r = results[i]!;
        if (r.result === 'created') {
          this.stored(c, r.order.id, writes, alerts);
          continue;
        }
        if (r.result === 'invalid') {
          const details = (r.error.details ?? []).map((d) => ({
            path: d.path.replace(/^orders\[\d+\]\.?/, ''),
            message: d.message,
          }));
          const text = details.map((d) => `${d.path}: ${d.message}`).join('; ') || r.error.message;
          writes.push(this.row(o, null, 'refused', text, c.hash, false, details));
          alerts.push({
            kind: 'source_order_refused',
            message: `ShipStation order ${o.facts.orderNumber} (orderId ${o.facts.orderId}) was refused: ${text}; fix it in ShipStation and it is pulled again (GET …/sources/${s.id}/orders?state=refused lists the refused orders)`,
            data: { ss_order_id: o.facts.orderId, order_number: o.facts.orderNumber, details },
          });
          continue;
        }
        // The number exists here already: ours from an earlier pull that stopped before recording
        // it (adopt it), or another ShipStation order with the same number (store this one apart).
        const number = String(c.input.order_number);
        const existingId =
          r.result === 'duplicate' ? r.order.id : await orderByNumber(db, this.merchant.id, s.name, number);
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
          const apart = withheldNumber(number, o.facts.orderId);
          if (round === 0) {
            again.push({
              ...c,
              input: { ...c.input, order_number: apart },
              withheld: `withheld: its ShipStation number ${number} is already${existingId === null ? ' taken' : ` order ${existingId}'s`} (source '${s.name}', ShipStation orderId ${o.facts.orderId}), so it is stored as ${apart}; release it to route it`,
            });
            continue;
          }
          // Even the number of its own is another ShipStation order's: nothing to store it under.
          writes.push(
            this.row(
              o,
              null,
              'held',
              `the numbers ${o.facts.orderNumber} and ${number} are taken`,
              c.hash,
              false,
            ),
          );
          alerts.push({
            kind: 'source_order_held',
            message: `ShipStation order ${o.facts.orderNumber} (orderId ${o.facts.orderId}) could not be stored: its number and ${number} are other orders' of source '${s.name}'; enter it by hand if it must ship`,
            orderId: existingId,
            data: { ss_order_id: o.facts.orderId, order_number: o.facts.orderNumber },
          });
          continue;
        }
        if (r.result === 'conflict') {
          const out = await replaceFromSource(db, this.merchant, s.id, existingId, c.input);
          if (!out.ok)
            alerts.push({
              kind: 'source_change_refused',
              message: `order ${number}: ShipStation's version could not be applied: ${out.message}`,
              orderId: existingId,
              data: { ss_order_id: o.facts.orderId },
            });
        }
        this.stored(c, existingId, writes, alerts);
      }
      creating = again;
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
        const state = states.get(orderId);
        // A cancellation is what matters then; its other edits are not applied.
        if (hash !== ex.input_hash && o.facts.status !== 'cancelled') {
          // An order stored under a number of its own keeps it (the number is the order's identity).
          const { order_number: _number, ...rest } = input;
          const apart = state !== undefined && isWithheldNumber(state.orderNumber, o.facts.orderId);
          const out = await replaceFromSource(db, this.merchant, s.id, orderId, apart ? rest : input);
          if (!out.ok)
            alerts.push({
              kind: 'source_change_refused',
              message: `${where}: a change made in ShipStation could not be applied: ${out.message}`,
              orderId,
              data: { ss_order_id: o.facts.orderId },
            });
        }
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
            insert into source_orders as so (source_id, ss_order_id, merchant_id, order_id, state, reason, details,
              order_number, modify_date, ss_status, input_hash, held_by_source)
            select ${s.id}, w.ss_order_id, ${this.merchant.id}, w.order_id, w.state, w.reason, w.details,
              w.order_number, w.modify_date, w.ss_status, w.input_hash, w.held_by_source
            from jsonb_to_recordset(${JSON.stringify(writes)}::jsonb) as w(ss_order_id bigint, order_id bigint,
              state text, reason text, details jsonb, order_number text, modify_date timestamptz, ss_status text,
              input_hash text, held_by_source boolean)
            order by w.ss_order_id
            on conflict (source_id, ss_order_id) do update set
              order_id = coalesce(so.order_id, excluded.order_id),
              -- A row with an order keeps its state and reason (taken, or held until a person releases
              -- it): only storing the order and releasing it set them.
              state = case when so.order_id is not null then so.state else excluded.state end,
              reason = case when so.order_id is not null then so.reason else excluded.reason end,
              details = case when so.order_id is not null then so.details else excluded.details end,
              order_number = excluded.order_number,
              modify_date = greatest(so.modify_date, excluded.modify_date), ss_status = excluded.ss_status,
              input_hash = excluded.input_hash, held_by_source = excluded.held_by_source, updated_at = now()
          `.execute(trx);
        await raiseAlerts(trx, this.merchant.id, s.id, alerts);
      });
    }
    return count;
  }

  /** An order stored here (created or adopted): taken, or held with an alert when it is withheld. */
  private stored(c: Creating, orderId: number, writes: RowWrite[], alerts: SourceAlert[]): void {
    const { o } = c;
    const heldBySource = o.facts.status === 'on_hold';
    if (c.withheld === null) {
      writes.push(this.row(o, orderId, 'taken', null, c.hash, heldBySource));
      return;
    }
    writes.push(this.row(o, orderId, 'held', c.withheld, c.hash, heldBySource));
    const s = this.source;
    alerts.push({
      kind: 'source_order_held',
      message: `ShipStation order ${o.facts.orderNumber} (orderId ${o.facts.orderId}) is stored as order ${orderId} but exported nowhere — ${c.withheld}: POST /v1/merchants/${this.merchant.code}/sources/${s.id}/orders/${o.facts.orderId}/release`,
      orderId,
      data: {
        ss_order_id: o.facts.orderId,
        order_number: o.facts.orderNumber,
        stored_as: String(c.input.order_number),
        reason: c.withheld,
      },
    });
  }

  private row(
    o: Seen,
    orderId: number | null,
    state: RowWrite['state'],
    reason: string | null,
    hash: string,
    heldBySource: boolean,
    details: RowWrite['details'] = null,
  ): RowWrite {
    return {
      ss_order_id: o.facts.orderId,
      order_id: orderId,
      state,
      reason,
      details,
      order_number: o.facts.orderNumber,
      modify_date: o.facts.modifyDate.toISOString(),
      ss_status: o.facts.status,
      input_hash: hash,
      held_by_source: heldBySource,
    };
  }
}
