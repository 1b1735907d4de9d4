import { api, enc, query } from '../api.js';
import {
  ErrorBanner,
  Field,
  fmtDate,
  html,
  Loading,
  Notice,
  Pager,
  useAction,
  useLoad,
  usePager,
} from '../ui.js';
import { useState } from '/console/vendor/preact-htm.js';

/** Apply one unmatched notice to an order found by its number (the notice's own number to start with). */
function ApplyForm({ merchant, notice, onDone }) {
  const [number, setNumber] = useState(notice.order_number ?? '');
  const [choices, setChoices] = useState(null);
  const act = useAction();
  const apply = (orderId) =>
    act.run(async () => {
      const r = await api.post(`/v1/merchants/${enc(merchant)}/shipnotices/${notice.id}/apply`, {
        order_id: orderId,
      });
      onDone(`Notice ${notice.id} ${r.result} to order ${orderId}.`);
    });
  const find = (e) => {
    e.preventDefault();
    act.run(async () => {
      if (!number.trim()) {
        act.setError(Object.assign(new Error('enter an order number'), { details: [] }));
        return;
      }
      const r = await api.get(
        `/v1/merchants/${enc(merchant)}/orders${query({ order_number: number.trim(), limit: 20 })}`,
      );
      if (r.orders.length === 1) return apply(r.orders[0].id);
      setChoices(r.orders);
    });
  };
  return html`<form class="inline" onSubmit=${find} aria-label=${`Apply notice ${notice.id}`}>
    <${Field} label="Order number" name=${`order-number-${notice.id}`} value=${number} onInput=${setNumber}
      error=${act.error?.message && !choices ? act.error.message : undefined} />
    <button type="submit" disabled=${act.busy}>Apply</button>
    ${choices?.length === 0 && html`<p class="field-error" role="alert">No order has this number.</p>`}
    ${
      choices?.length > 1 &&
      html`<fieldset><legend>Several orders have this number; choose one</legend>
        ${choices.map((o) => html`<button type="button" onClick=${() => apply(o.id)}>${o.order_source} ${o.order_number} (${o.status})</button>`)}
      </fieldset>`
    }
  </form>`;
}

export function NoticesPage({ merchant }) {
  const url = `/v1/merchants/${enc(merchant)}/shipnotices`;
  const pager = usePager('notices');
  const list = useLoad(
    () => api.get(`${url}${query({ status: 'unmatched', limit: 50, cursor: pager.cursor })}`),
    [url, pager.cursor],
  );
  const [done, setDone] = useState(null);
  const act = useAction();
  const finish = (msg) => {
    setDone(msg);
    list.reload();
  };
  const dismiss = (n) =>
    act.run(async () => {
      await api.post(`${url}/${n.id}/dismiss`, {});
      finish(`Notice ${n.id} dismissed.`);
    });
  return html`<section aria-labelledby="notices-h">
    <h1 id="notices-h">Unmatched shipment notices <span class="muted">${merchant}</span></h1>
    <p class="hint">Notices ShipStation sent that matched no order. Apply each to the right order, or dismiss it.</p>
    ${done && html`<${Notice}>${done}</${Notice}>`}
    <${ErrorBanner} error=${act.error ?? list.error} />
    ${list.loading && html`<${Loading} />`}
    ${
      list.data &&
      html`<ul class="cards">
        ${list.data.shipnotices.map(
          (n) => html`<li class="card">
            <h2>Notice ${n.id} <span class="muted">received ${fmtDate(n.received_at)}</span></h2>
            <dl class="facts">
              <dt>Order number sent</dt><dd>${n.order_number ?? '—'}</dd>
              <dt>Tracking</dt><dd><code>${n.tracking_number ?? '—'}</code></dd>
              <dt>Why unmatched</dt><dd>${n.reason ?? '—'}</dd>
            </dl>
            <${ApplyForm} merchant=${merchant} notice=${n} onDone=${finish} />
            <button type="button" class="danger" onClick=${() => dismiss(n)} disabled=${act.busy}>Dismiss</button>
          </li>`,
        )}
        ${list.data.shipnotices.length === 0 && html`<li class="muted">No unmatched notices.</li>`}
      </ul>
      <${Pager} pager=${pager} nextCursor=${list.data.next_cursor} />`
    }
  </section>`;
}
