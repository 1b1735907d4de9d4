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

export function ShipmentsPage({ merchant }) {
  const url = `/v1/merchants/${enc(merchant)}/shipments`;
  const [status, setStatus] = useState('unconfirmed');
  const pager = usePager(status);
  const list = useLoad(
    () => api.get(`${url}${query({ status, limit: 50, cursor: pager.cursor })}`),
    [url, status, pager.cursor],
  );
  const [picked, setPicked] = useState(new Set());
  const [done, setDone] = useState(null);
  const act = useAction();
  const toggle = (id) => {
    const next = new Set(picked);
    next.has(id) ? next.delete(id) : next.add(id);
    setPicked(next);
  };
  const confirmIds = (ids) =>
    act.run(async () => {
      const r = await api.post(`${url}/confirm`, { shipment_ids: ids });
      setDone(`${r.confirmed} shipment(s) confirmed.`);
      setPicked(new Set());
      list.reload();
    });
  const voidOne = (s) =>
    act.run(async () => {
      if (!confirm(`Void shipment ${s.tracking_number ?? s.id} of order ${s.order_number}?`)) return;
      await api.post(`${url}/${s.id}/void`, {});
      setDone(`Shipment ${s.id} voided.`);
      list.reload();
    });
  return html`<section aria-labelledby="shipments-h">
    <h1 id="shipments-h">Shipments <span class="muted">${merchant}</span></h1>
    <div class="filters">
      <${Field} label="Show" name="status" value=${status} onInput=${setStatus}
        options=${['unconfirmed', 'confirmed', 'voided', 'all'].map((s) => ({ value: s, label: s }))} />
      <button type="button" class="primary" disabled=${picked.size === 0 || act.busy} onClick=${() => confirmIds([...picked])}>
        Confirm selected (${picked.size})
      </button>
    </div>
    ${done && html`<${Notice}>${done}</${Notice}>`}
    <${ErrorBanner} error=${act.error ?? list.error} />
    ${list.loading && html`<${Loading} />`}
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Shipments</caption>
        <thead><tr><th scope="col"><span class="sr-only">Select</span></th><th scope="col">Order</th><th scope="col">Carrier / service</th><th scope="col">Tracking</th><th scope="col">Ship date</th><th scope="col">Items</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          ${list.data.shipments.map((s) => {
            const open = !s.confirmed_at && !s.voided_at;
            return html`<tr>
              <td>${open && html`<input type="checkbox" aria-label=${`Select shipment ${s.id}`} checked=${picked.has(s.id)} onChange=${() => toggle(s.id)} />`}</td>
              <td><a href=${`#/m/${enc(merchant)}/orders/${s.order_id}`}>${s.order_number}</a></td>
              <td>${[s.carrier, s.service].filter(Boolean).join(' / ') || '—'}</td>
              <td><code>${s.tracking_number ?? '—'}</code></td>
              <td>${s.ship_date ?? '—'}</td>
              <td>${s.items.map((i) => `${i.quantity} × ${i.sku ?? i.name}`).join(', ')}</td>
              <td>${s.voided_at ? `voided ${fmtDate(s.voided_at)}` : s.confirmed_at ? `confirmed ${fmtDate(s.confirmed_at)}` : 'unconfirmed'}</td>
              <td class="actions">
                ${open && html`<button type="button" onClick=${() => confirmIds([s.id])} disabled=${act.busy}>Confirm</button>`}
                ${!s.voided_at && html`<button type="button" class="danger" onClick=${() => voidOne(s)} disabled=${act.busy}>Void</button>`}
              </td>
            </tr>`;
          })}
          ${list.data.shipments.length === 0 && html`<tr><td colspan="8" class="muted">No shipments here.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${list.data.next_cursor} />`
    }
  </section>`;
}
