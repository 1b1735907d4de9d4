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

/** A merchant's alerts; '#/m/{merchant}/alerts?store_id=N' shows one store's (from its health). */
export function AlertsPage({ merchant, route }) {
  const url = `/v1/merchants/${enc(merchant)}/alerts`;
  const storeId = route?.params.get('store_id') ?? '';
  const [status, setStatus] = useState('open');
  const pager = usePager(`${status}/${storeId}`);
  const list = useLoad(
    () => api.get(`${url}${query({ status, store_id: storeId, limit: 50, cursor: pager.cursor })}`),
    [url, status, storeId, pager.cursor],
  );
  const [done, setDone] = useState(null);
  const act = useAction();
  const dismiss = (a) =>
    act.run(async () => {
      await api.post(`${url}/${a.id}/dismiss`, {});
      setDone(`Alert ${a.id} dismissed.`);
      list.reload();
    });
  return html`<section aria-labelledby="alerts-h">
    <h1 id="alerts-h">Alerts <span class="muted">${merchant}</span></h1>
    <div class="filters">
      <${Field} label="Show" name="status" value=${status} onInput=${setStatus}
        options=${['open', 'dismissed', 'all'].map((s) => ({ value: s, label: s }))} />
    </div>
    ${
      storeId &&
      html`<p>Alerts of <a href=${`#/m/${enc(merchant)}/stores/${enc(storeId)}`}>store ${storeId}</a> only.
        <a href=${`#/m/${enc(merchant)}/alerts`}>Show every alert</a></p>`
    }
    ${done && html`<${Notice}>${done}</${Notice}>`}
    <${ErrorBanner} error=${act.error ?? list.error} />
    ${list.loading && html`<${Loading} />`}
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Alerts</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">What</th><th scope="col">Concerns</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          ${list.data.alerts.map(
            (a) => html`<tr>
              <td>${fmtDate(a.created_at)}</td>
              <td><code>${a.kind}</code></td>
              <td>${a.message}</td>
              <td>
                ${a.order_id && html`<a href=${`#/m/${enc(merchant)}/orders/${a.order_id}`}>order ${a.order_id}</a> `}
                ${a.store_id && html`<a href=${`#/m/${enc(merchant)}/stores/${a.store_id}`}>store ${a.store_id}</a> `}
                ${a.notice_id && html`<a href=${`#/m/${enc(merchant)}/notices`}>notice ${a.notice_id}</a>`}
              </td>
              <td>${
                a.dismissed_at
                  ? `dismissed ${fmtDate(a.dismissed_at)}`
                  : html`<button type="button" onClick=${() => dismiss(a)} disabled=${act.busy}>Dismiss</button>`
              }</td>
            </tr>`,
          )}
          ${list.data.alerts.length === 0 && html`<tr><td colspan="5" class="muted">Nothing needs a person.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${list.data.next_cursor} />`
    }
  </section>`;
}
