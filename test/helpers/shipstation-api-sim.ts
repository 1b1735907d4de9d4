/**
 * A ShipStation API (v1, JSON) simulator of our own, built from the public API documentation, for
 * the source-connection tests: a Fastify server on 127.0.0.1.
 *
 * What it does like ShipStation:
 * - Basic auth with an API key pair (401 otherwise);
 * - `GET /orders` with orderStatus, storeId, modifyDateStart/End, sortBy (OrderDate, ModifyDate,
 *   CreateDate), sortDir, page, pageSize (≤ 500) and the paging fields total/page/pages. Its dates
 *   carry no offset and are Pacific time (seven fractional digits); filter dates are read the same way;
 *   `modifyDate` moves on every change (not on tagging unless asked);
 * - `GET /orders/listbytag` (orderStatus, tagId, page, pageSize), `GET /accounts/listtags`, `GET /stores`,
 *   `POST /orders/markasshipped` (the order becomes shipped; the call is recorded);
 * - rate limiting in a fixed window: X-Rate-Limit-Limit, -Remaining, -Reset (seconds until the window
 *   ends) on every answer, and 429 past the limit;
 * - faults injected for the next calls: 429, 500, 401, or a slow (hanging) answer.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';

const ZONE = 'America/Los_Angeles';

export interface SimAddress {
  name: string | null;
  company: string | null;
  street1: string | null;
  street2: string | null;
  street3: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
  phone: string | null;
  residential: boolean | null;
  addressVerified?: string | null;
}

export interface SimItem {
  orderItemId: number;
  lineItemKey: string | null;
  sku: string | null;
  name: string;
  imageUrl: string | null;
  weight: { value: number; units: 'pounds' | 'ounces' | 'grams' } | null;
  quantity: number;
  unitPrice: number;
  taxAmount: number | null;
  shippingAmount: number | null;
  warehouseLocation: string | null;
  options: { name: string; value: string }[];
  productId: number | null;
  fulfillmentSku: string | null;
  adjustment: boolean;
  upc: string | null;
}

export interface SimOrder {
  orderId: number;
  orderNumber: string;
  orderKey: string;
  orderDate: string;
  createDate: string;
  modifyDate: string;
  paymentDate: string | null;
  orderStatus: string;
  customerId: number | null;
  customerUsername: string | null;
  customerEmail: string | null;
  billTo: SimAddress;
  shipTo: SimAddress;
  items: SimItem[];
  orderTotal: number;
  amountPaid: number;
  taxAmount: number;
  shippingAmount: number;
  customerNotes: string | null;
  internalNotes: string | null;
  gift: boolean;
  giftMessage: string | null;
  paymentMethod: string | null;
  requestedShippingService: string | null;
  carrierCode: string | null;
  serviceCode: string | null;
  advancedOptions: {
    warehouseId: number | null;
    storeId: number;
    customField1: string | null;
    customField2: string | null;
    customField3: string | null;
    source: string | null;
    mergedOrSplit: boolean;
    mergedIds: number[];
    parentId: number | null;
  };
  tagIds: number[] | null;
  externallyFulfilled: boolean;
}

export interface MarkShippedCall {
  orderId: number;
  carrierCode: string;
  shipDate: string | null;
  trackingNumber: string | null;
  notifyCustomer: boolean;
  notifySalesChannel: boolean;
}

/** An injected answer: a status (a 429 may say when to come back), or a slow answer. */
export type Fault = { status: 429 | 500 | 401; resetSeconds?: number } | { slowMs: number };

export interface SimOptions {
  apiKey?: string;
  apiSecret?: string;
  /** Calls allowed per window (ShipStation: 40 a minute per key pair). */
  limit?: number;
  windowMs?: number;
}

export interface SimCall {
  method: string;
  path: string;
  query: Record<string, string>;
  /** What the simulator answered. */
  status: number;
}

/** Pacific wall-clock time with seven fractional digits and no offset, as ShipStation answers dates. */
export function pacific(instant: Date): string {
  return `${DateTime.fromJSDate(instant).setZone(ZONE).toFormat("yyyy-MM-dd'T'HH:mm:ss.SSS")}0000`;
}

const readCache = new Map<string, number | null>();

/** A date filter or a date field as ShipStation reads it: Pacific time without offset (earlier when ambiguous). */
function readPacific(value: string): number | null {
  let t = readCache.get(value);
  if (t === undefined) {
    t = parsePacific(value);
    if (readCache.size > 100_000) readCache.clear();
    readCache.set(value, t);
  }
  return t;
}

function parsePacific(value: string): number | null {
  const s = value.trim().replace(' ', 'T');
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?))?$/.exec(s);
  if (!m) return null;
  const time = (m[2] ?? '00:00:00').replace(/(\.\d{3})\d+$/, '$1');
  const dt = DateTime.fromISO(`${m[1]}T${time}`, { zone: ZONE });
  return dt.isValid ? dt.toMillis() : null;
}

export class ShipStationSim {
  readonly apiKey: string;
  readonly apiSecret: string;
  limit: number;
  windowMs: number;
  url = '';
  readonly orders = new Map<number, SimOrder>();
  readonly tags: { tagId: number; name: string; color: string }[] = [];
  readonly stores: { storeId: number; storeName: string; marketplaceName: string; active: boolean }[] = [
    { storeId: 101, storeName: 'Amazon US', marketplaceName: 'Amazon', active: true },
    { storeId: 102, storeName: 'Shopify', marketplaceName: 'Shopify', active: true },
  ];
  readonly markedShipped: MarkShippedCall[] = [];
  readonly calls: SimCall[] = [];
  /** 429s answered because the limit was passed (not injected ones). */
  overLimit = 0;
  readonly #faults: Fault[] = [];
  #app: FastifyInstance | undefined;
  #nextOrderId = 1000;
  #nextItemId = 50_000;
  #lastStamp = 0;
  #window = { start: 0, count: 0 };
  #hanging = new Set<() => void>();

  constructor(opts: SimOptions = {}) {
    this.apiKey = opts.apiKey ?? 'sim-api-key';
    this.apiSecret = opts.apiSecret ?? 'sim-api-secret-0123456789';
    this.limit = opts.limit ?? 40;
    this.windowMs = opts.windowMs ?? 60_000;
  }

  /** The next calls answer these faults, one each, in order. */
  inject(...faults: Fault[]): void {
    this.#faults.push(...faults);
  }

  /** A strictly growing instant, so every change has its own modifyDate. */
  stamp(): Date {
    const now = Math.max(Date.now(), this.#lastStamp + 1);
    this.#lastStamp = now;
    return new Date(now);
  }

  /**
   * Resolves once the clock has passed every modifyDate given out: orders added faster than one a
   * millisecond get stamps ahead of the clock, which no real ShipStation answers.
   */
  async caughtUp(): Promise<void> {
    while (Date.now() <= this.#lastStamp)
      await new Promise((r) => setTimeout(r, this.#lastStamp - Date.now() + 1));
  }

  tag(name: string): number {
    const existing = this.tags.find((t) => t.name === name);
    if (existing) return existing.tagId;
    const tagId = 7000 + this.tags.length;
    this.tags.push({ tagId, name, color: '#FF0000' });
    return tagId;
  }

  /** Adds an order (defaults make a valid US order of one item), answering it. */
  addOrder(
    o: Partial<Omit<SimOrder, 'advancedOptions'>> & {
      advancedOptions?: Partial<SimOrder['advancedOptions']>;
      tags?: string[];
    } = {},
  ): SimOrder {
    const orderId = o.orderId ?? this.#nextOrderId++;
    const now = pacific(this.stamp());
    const { tags, advancedOptions, ...rest } = o;
    const address: SimAddress = {
      name: 'Ada Lovelace',
      company: null,
      street1: '12 Main St',
      street2: null,
      street3: null,
      city: 'Springfield',
      state: 'IL',
      postalCode: '62701',
      country: 'US',
      phone: '555-0100',
      residential: true,
      addressVerified: 'Address validated successfully',
    };
    const order: SimOrder = {
      orderId,
      orderNumber: `SS-${orderId}`,
      orderKey: `key-${orderId}`,
      orderDate: now,
      createDate: now,
      modifyDate: now,
      paymentDate: now,
      orderStatus: 'awaiting_shipment',
      customerId: 37701499,
      customerUsername: 'ada@example.com',
      customerEmail: 'ada@example.com',
      billTo: { ...address },
      shipTo: { ...address },
      items: [this.item({ lineItemKey: `line-${orderId}-1` })],
      orderTotal: 30,
      amountPaid: 30,
      taxAmount: 0,
      shippingAmount: 5,
      customerNotes: null,
      internalNotes: null,
      gift: false,
      giftMessage: null,
      paymentMethod: 'Credit Card',
      requestedShippingService: 'USPS Priority Mail',
      carrierCode: null,
      serviceCode: null,
      tagIds: null,
      externallyFulfilled: false,
      ...rest,
      advancedOptions: {
        warehouseId: null,
        storeId: 101,
        customField1: null,
        customField2: null,
        customField3: null,
        source: null,
        mergedOrSplit: false,
        mergedIds: [],
        parentId: null,
        ...advancedOptions,
      },
    };
    if (tags && tags.length > 0) order.tagIds = tags.map((t) => this.tag(t));
    this.orders.set(orderId, order);
    return order;
  }

  /** An order line (a widget, two of them, unless told otherwise) with an id of its own. */
  item(over: Partial<SimItem> = {}): SimItem {
    return {
      orderItemId: this.#nextItemId++,
      lineItemKey: null,
      sku: 'SKU-1',
      name: 'Widget',
      imageUrl: null,
      weight: { value: 8, units: 'ounces' },
      quantity: 2,
      unitPrice: 12.5,
      taxAmount: null,
      shippingAmount: null,
      warehouseLocation: null,
      options: [],
      productId: null,
      fulfillmentSku: null,
      adjustment: false,
      upc: null,
      ...over,
    };
  }

  /** Changes an order; its modifyDate moves. */
  updateOrder(orderId: number, patch: Partial<SimOrder>): SimOrder {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`no order ${orderId}`);
    Object.assign(o, patch, { modifyDate: pacific(this.stamp()) });
    return o;
  }

  /** Tags an order; ShipStation does not always move modifyDate for that (`touch` says whether to). */
  tagOrder(orderId: number, name: string, touch = false): void {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`no order ${orderId}`);
    const id = this.tag(name);
    o.tagIds = [...new Set([...(o.tagIds ?? []), id])];
    if (touch) o.modifyDate = pacific(this.stamp());
  }

  async start(): Promise<string> {
    const app = Fastify({ logger: false });
    this.#app = app;
    app.addHook('onRequest', async (req, reply) => {
      const query = Object.fromEntries(new URL(req.url, 'http://x').searchParams) as Record<string, string>;
      const path = req.url.split('?')[0]!;
      const record = (status: number) => this.calls.push({ method: req.method, path, query, status });
      // The window counts every call that reaches the server, answered or refused.
      const now = Date.now();
      if (now - this.#window.start >= this.windowMs) this.#window = { start: now, count: 0 };
      this.#window.count++;
      const remaining = Math.max(0, this.limit - this.#window.count);
      const reset = Math.max(1, Math.ceil((this.#window.start + this.windowMs - now) / 1000));
      reply.header('X-Rate-Limit-Limit', String(this.limit));
      reply.header('X-Rate-Limit-Remaining', String(remaining));
      reply.header('X-Rate-Limit-Reset', String(reset));
      if (this.#window.count > this.limit) {
        this.overLimit++;
        record(429);
        return reply.code(429).send({ Message: 'Too Many Requests' });
      }
      const fault = this.#faults.shift();
      if (fault && 'status' in fault) {
        record(fault.status);
        if (fault.resetSeconds !== undefined) reply.header('X-Rate-Limit-Reset', String(fault.resetSeconds));
        return reply
          .code(fault.status)
          .send(fault.status === 401 ? '401 Unauthorized' : { Message: 'An error has occurred.' });
      }
      const auth = req.headers.authorization ?? '';
      const expected = `Basic ${Buffer.from(`${this.apiKey}:${this.apiSecret}`).toString('base64')}`;
      if (auth !== expected) {
        record(401);
        return reply.code(401).send('401 Unauthorized');
      }
      if (fault && 'slowMs' in fault) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.#hanging.delete(done);
            resolve();
          };
          const timer = setTimeout(done, fault.slowMs);
          this.#hanging.add(done);
        });
      }
      record(200);
    });

    app.get('/orders', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      let list = [...this.orders.values()];
      if (q.orderStatus) list = list.filter((o) => o.orderStatus === q.orderStatus);
      if (q.storeId) list = list.filter((o) => o.advancedOptions.storeId === Number(q.storeId));
      if (q.orderNumber) list = list.filter((o) => o.orderNumber.startsWith(q.orderNumber!));
      for (const [param, field, cmp] of [
        ['modifyDateStart', 'modifyDate', 1],
        ['modifyDateEnd', 'modifyDate', -1],
        ['createDateStart', 'createDate', 1],
        ['createDateEnd', 'createDate', -1],
        ['orderDateStart', 'orderDate', 1],
        ['orderDateEnd', 'orderDate', -1],
      ] as const) {
        const v = q[param];
        if (!v) continue;
        const bound = readPacific(v);
        if (bound === null) return reply.code(400).send({ Message: `The request is invalid: ${param}` });
        list = list.filter((o) => {
          const t = readPacific(o[field])!;
          return cmp === 1 ? t >= bound : t <= bound;
        });
      }
      const sortField = { OrderDate: 'orderDate', ModifyDate: 'modifyDate', CreateDate: 'createDate' }[
        q.sortBy ?? 'OrderDate'
      ] as 'orderDate' | 'modifyDate' | 'createDate' | undefined;
      if (!sortField) return reply.code(400).send({ Message: 'The request is invalid: sortBy' });
      const dir = (q.sortDir ?? 'ASC').toUpperCase() === 'DESC' ? -1 : 1;
      list.sort(
        (a, b) => dir * (readPacific(a[sortField])! - readPacific(b[sortField])!) || a.orderId - b.orderId,
      );
      return this.#page(list, q);
    });

    app.get('/orders/listbytag', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      if (!q.orderStatus || !q.tagId)
        return reply.code(400).send({ Message: 'orderStatus and tagId are required' });
      const tagId = Number(q.tagId);
      const list = [...this.orders.values()]
        .filter((o) => o.orderStatus === q.orderStatus && (o.tagIds ?? []).includes(tagId))
        .sort((a, b) => a.orderId - b.orderId);
      return this.#page(list, q);
    });

    app.get('/accounts/listtags', async () => this.tags);
    app.get('/stores', async () =>
      this.stores.map((s) => ({
        storeId: s.storeId,
        storeName: s.storeName,
        marketplaceId: 0,
        marketplaceName: s.marketplaceName,
        accountName: null,
        email: null,
        integrationUrl: null,
        active: s.active,
      })),
    );

    app.post('/orders/markasshipped', async (req, reply) => {
      const b = req.body as Partial<MarkShippedCall>;
      const o = typeof b.orderId === 'number' ? this.orders.get(b.orderId) : undefined;
      if (!o || typeof b.carrierCode !== 'string')
        return reply
          .code(400)
          .send({ Message: 'The request is invalid: orderId and carrierCode are required' });
      this.markedShipped.push({
        orderId: b.orderId!,
        carrierCode: b.carrierCode,
        shipDate: b.shipDate ?? null,
        trackingNumber: b.trackingNumber ?? null,
        notifyCustomer: b.notifyCustomer ?? false,
        notifySalesChannel: b.notifySalesChannel ?? false,
      });
      this.updateOrder(o.orderId, { orderStatus: 'shipped' });
      return { orderId: o.orderId, orderNumber: o.orderNumber };
    });

    this.url = await app.listen({ host: '127.0.0.1', port: 0 });
    return this.url;
  }

  #page(list: SimOrder[], q: Record<string, string | undefined>) {
    const pageSize = Math.min(500, Math.max(1, Number(q.pageSize ?? 100) || 100));
    const page = Math.max(1, Number(q.page ?? 1) || 1);
    const pages = Math.ceil(list.length / pageSize);
    return {
      orders: list.slice((page - 1) * pageSize, page * pageSize),
      total: list.length,
      page,
      pages,
    };
  }

  /** The calls of one path that were answered 200. */
  answered(path: string): SimCall[] {
    return this.calls.filter((c) => c.path === path && c.status === 200);
  }

  async stop(): Promise<void> {
    for (const done of [...this.#hanging]) done();
    await this.#app?.close();
  }
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startSim(t: Teardown, opts: SimOptions = {}): Promise<ShipStationSim> {
  const sim = new ShipStationSim(opts);
  await sim.start();
  t.teardown(() => sim.stop());
  return sim;
}
