import { api, enc, query } from '../api.js';
import {
  ErrorBanner,
  Field,
  fmtDate,
  html,
  Loading,
  Pager,
  Status,
  useAction,
  useLoad,
  usePager,
} from '../ui.js';
import { useEffect, useState } from '/console/vendor/preact-htm.js';
import { RuleEffects } from './rules.js';

const STATUSES = ['await_payment', 'new', 'at_wms', 'shipped', 'confirmed', 'canceled', 'on_hold'];
const base = (merchant) => `/v1/merchants/${enc(merchant)}/orders`;

/** A merchant's orders; '#/m/{merchant}/orders?order_source=X' opens them filtered to one source's. */
export function OrdersPage({ merchant, route }) {
  const source = route?.params.get('order_source') ?? '';
  const [draft, setDraft] = useState({ status: '', order_source: source, order_number: '', routing: '' });
  const [filters, setFilters] = useState(draft);
  // A link to another source's orders while this page is open changes only the hash's query.
  useEffect(() => {
    setDraft((d) => ({ ...d, order_source: source }));
    setFilters((f) => (f.order_source === source ? f : { ...f, order_source: source }));
  }, [source]);
  const pager = usePager(JSON.stringify(filters));
  const list = useLoad(
    () => api.get(`${base(merchant)}${query({ ...filters, limit: 50, cursor: pager.cursor })}`),
    [merchant, JSON.stringify(filters), pager.cursor],
  );
  const set = (k) => (v) => setDraft({ ...draft, [k]: v });
  const apply = (e) => {
    e.preventDefault();
    setFilters({ ...draft });
  };
  const fieldError = (p) => list.error?.fieldError?.(p) ?? list.error?.fieldError?.(`querystring.${p}`);
  return html`<section aria-labelledby="orders-h">
    <h1 id="orders-h">Orders <span class="muted">${merchant}</span></h1>
    <form class="filters" onSubmit=${apply} role="search" aria-label="Filter orders">
      <${Field} label="Order number" name="order_number" value=${draft.order_number} onInput=${set('order_number')} error=${fieldError('order_number')} />
      <${Field} label="Status" name="status" value=${draft.status} onInput=${set('status')}
        options=${[{ value: '', label: 'any' }, ...STATUSES.map((s) => ({ value: s, label: s }))]} />
      <${Field} label="Order source" name="order_source" value=${draft.order_source} onInput=${set('order_source')} />
      <${Field} label="Routing" name="routing" value=${draft.routing} onInput=${set('routing')}
        options=${[{ value: '', label: 'any' }, { value: 'routed', label: 'routed' }, { value: 'unrouted', label: 'unrouted' }]} />
      <button type="submit" class="primary">Filter</button>
    </form>
    ${list.loading && html`<${Loading} />`}
    <${ErrorBanner} error=${list.error} />
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Orders</caption>
        <thead><tr><th scope="col">Number</th><th scope="col">Source</th><th scope="col">Status</th><th scope="col">Store</th><th scope="col">Total</th><th scope="col">Updated</th></tr></thead>
        <tbody>
          ${list.data.orders.map(
            (o) => html`<tr>
              <td><a href=${`#/m/${enc(merchant)}/orders/${o.id}`}>${o.order_number}</a></td>
              <td>${o.order_source}</td>
              <td><${Status} status=${o.status} /></td>
              <td>${o.routing.store_id ?? html`<span class="warn">unrouted</span>`}</td>
              <td class="num">${o.order_total} ${o.currency ?? ''}</td>
              <td>${fmtDate(o.updated_at)}</td>
            </tr>`,
          )}
          ${list.data.orders.length === 0 && html`<tr><td colspan="6" class="muted">No orders match.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${list.data.next_cursor} />`
    }
  </section>`;
}

/** Which lifecycle actions the order's status allows (the API refuses the others with 409 anyway). */
const ACTIONS = {
  pay: ['await_payment'],
  hold: ['await_payment', 'new', 'at_wms'],
  release: ['on_hold'],
  cancel: ['await_payment', 'new', 'at_wms', 'on_hold'],
};

function Address({ a }) {
  if (!a) return html`<span class="muted">—</span>`;
  return html`<address>
    ${[
      a.name,
      a.company,
      a.street1,
      a.street2,
      a.street3,
      [a.postal_code, a.city, a.state].filter(Boolean).join(' '),
      a.country,
    ]
      .filter(Boolean)
      .map((l) => html`${l}<br />`)}
  </address>`;
}

function Timeline({ events }) {
  return html`<ol class="timeline">
    ${events.map(
      (e) => html`<li>
        <time datetime=${e.at}>${fmtDate(e.at)}</time>
        <strong>${e.type}</strong>
        ${e.from_status || e.to_status ? html` <span>${e.from_status ?? '—'} → ${e.to_status ?? '—'}</span>` : ''}
        <span class="muted"> by ${e.actor_type}${e.actor ? ` ${e.actor}` : ''}</span>
        ${e.data && Object.keys(e.data).length > 0 && html`<code class="data">${JSON.stringify(e.data)}</code>`}
      </li>`,
    )}
  </ol>`;
}

export function OrderPage({ merchant, id }) {
  const url = `${base(merchant)}/${enc(id)}`;
  const order = useLoad(() => api.get(url), [url]);
  const events = useLoad(() => api.get(`${url}/events`), [url, order.data?.updated_at]);
  const xml = useLoad(
    () => api.getText(`${url}/xml`, 'application/xml').catch((e) => ({ unavailable: e.message })),
    [url, order.data?.updated_at],
  );
  const act = useAction();
  if (order.loading && !order.data) return html`<${Loading} />`;
  if (order.error) return html`<${ErrorBanner} error=${order.error} />`;
  const o = order.data;
  const run = (name) =>
    act.run(async () => {
      if (name === 'cancel' && !confirm(`Cancel order ${o.order_number}?`)) return;
      await api.post(`${url}/${name}`, {});
      order.reload();
    });
  return html`<article aria-labelledby="order-h">
    <p><a href=${`#/m/${enc(merchant)}/orders`}>← Orders</a></p>
    <h1 id="order-h">Order ${o.order_number} <${Status} status=${o.status} /></h1>
    <div class="actions">
      ${Object.entries(ACTIONS)
        .filter(([, from]) => from.includes(o.status))
        .map(
          ([name]) =>
            html`<button type="button" class=${name === 'cancel' ? 'danger' : ''} onClick=${() => run(name)} disabled=${act.busy}>${name}</button>`,
        )}
    </div>
    <${ErrorBanner} error=${act.error} />
    <div class="columns">
      <section class="card" aria-labelledby="facts-h">
        <h2 id="facts-h">Order</h2>
        <dl class="facts">
          <dt>Source</dt><dd>${o.order_source}</dd>
          <dt>Order date</dt><dd>${fmtDate(o.order_date)}</dd>
          <dt>Total</dt><dd>${o.order_total} ${o.currency ?? ''}</dd>
          <dt>Shipping method</dt><dd>${o.shipping_method ?? '—'}</dd>
          <dt>Tags</dt><dd>${o.tags?.length ? o.tags.join(', ') : '—'}</dd>
          <dt>Last modified</dt><dd>${fmtDate(o.last_modified)}</dd>
          <dt>Updated</dt><dd>${fmtDate(o.updated_at)}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="routing-h">
        <h2 id="routing-h">Routing</h2>
        <dl class="facts">
          <dt>Store</dt><dd>${
            o.routing.store_id
              ? html`<a href=${`#/m/${enc(merchant)}/stores/${o.routing.store_id}`}>store ${o.routing.store_id}</a>`
              : html`<span class="warn">unrouted</span>`
          }</dd>
          <dt>Reason</dt><dd class="reason">${o.routing.reason ?? 'routed by the first store whose filter accepts it'}</dd>
          <dt>Served to ShipStation</dt><dd>${o.routing.served_at ? `${fmtDate(o.routing.served_at)} by store ${o.routing.served_store_id}` : 'not yet'}</dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="ship-to-h">
        <h2 id="ship-to-h">Ship to</h2>
        <${Address} a=${o.ship_to} />
      </section>
    </div>
    ${
      o.effective &&
      html`<section class="card" aria-labelledby="effective-h">
        <h2 id="effective-h">Rules that fired</h2>
        <p class="hint">The fields above are the order as sent; routing and ShipStation get it as the rules left it.</p>
        <${RuleEffects} effective=${o.effective} caption="What the rules changed" />
        ${
          o.effective.excluded_line_ids?.length > 0 &&
          html`<p>Lines excluded by rules (not exported, not needed to ship): ${o.effective.excluded_line_ids.join(', ')}</p>`
        }
      </section>`
    }
    <section class="card" aria-labelledby="items-h">
      <h2 id="items-h">Items</h2>
      <table class="list">
        <thead><tr><th scope="col">Line</th><th scope="col">SKU</th><th scope="col">Name</th><th scope="col" class="num">Qty</th><th scope="col" class="num">Shipped</th><th scope="col" class="num">Unit price</th></tr></thead>
        <tbody>
          ${o.items.map(
            (i) => html`<tr>
              <td>${i.line_id ?? i.line_item_id}</td><td>${i.sku ?? '—'}</td><td>${i.name}</td>
              <td class="num">${i.quantity}</td><td class="num">${i.shipped_quantity}</td><td class="num">${i.unit_price}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
    <section class="card" aria-labelledby="events-h">
      <h2 id="events-h">Timeline</h2>
      ${events.data ? html`<${Timeline} events=${events.data.events} />` : html`<${Loading} />`}
    </section>
    <section class="card" aria-labelledby="xml-h">
      <h2 id="xml-h">XML as ShipStation receives it</h2>
      ${
        xml.data === null || xml.loading
          ? html`<${Loading} />`
          : typeof xml.data === 'string'
            ? html`<pre class="xml" tabindex="0" aria-label="Order XML">${xml.data}</pre>`
            : html`<p class="muted">${xml.data.unavailable}</p>`
      }
    </section>
  </article>`;
}
