import { api, enc, query } from '../api.js';
import {
  CopyValue,
  ErrorBanner,
  Field,
  FormError,
  fmtDate,
  html,
  Loading,
  Notice,
  num,
  splitList,
  useAction,
  useLoad,
  useSaveForm,
} from '../ui.js';
import { useState } from '/console/vendor/preact-htm.js';

const base = (merchant) => `/v1/merchants/${enc(merchant)}/stores`;

const FORM_LABELS = [
  ['url', 'URL to Custom XML Page'],
  ['username', 'Username'],
  ['password', 'Password'],
  ['unpaid_status', 'Unpaid Status'],
  ['paid_status', 'Paid Status'],
  ['shipped_status', 'Shipped Status'],
  ['cancelled_status', 'Cancelled Status'],
  ['on_hold_status', 'On-Hold Status'],
];

/** What to paste into ShipStation's Custom Store form, one copy button per value. */
export function ShipStationForm({ values }) {
  return html`<div class="ss-form" aria-label="ShipStation Custom Store form values" role="group">
    ${FORM_LABELS.filter(([k]) => values[k] !== undefined).map(
      ([k, label]) => html`<${CopyValue} label=${label} value=${values[k]} secret=${k === 'password'} />`,
    )}
  </div>`;
}

/** The editable settings, as form strings, from a store (or defaults for a new one). */
const formOf = (s) => ({
  name: s?.name ?? '',
  order_sources: (s?.order_sources ?? []).join(', '),
  include_tags: (s?.include_tags ?? []).join(', '),
  exclude_tags: (s?.exclude_tags ?? []).join(', '),
  priority: String(s?.priority ?? 100),
  page_size: String(s?.page_size ?? 100),
  timezone: s?.timezone ?? 'UTC',
  lookback_minutes: String(s?.lookback_minutes ?? 10),
  order_number_prefix: s?.order_number_prefix ?? '',
});

/** Form strings → the API's body. */
const bodyOf = (f) => ({
  name: f.name,
  order_sources: splitList(f.order_sources),
  include_tags: splitList(f.include_tags),
  exclude_tags: splitList(f.exclude_tags),
  priority: num(f.priority),
  page_size: num(f.page_size),
  timezone: f.timezone,
  lookback_minutes: num(f.lookback_minutes),
  order_number_prefix: f.order_number_prefix,
});

function SettingsFields({ form, setForm, action }) {
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const f = (k, label, extra = {}) =>
    html`<${Field} label=${label} name=${k} value=${form[k]} onInput=${set(k)} error=${action.fieldError(k)} ...${extra} />`;
  return html`<div class="grid">
    ${f('name', 'Name', { required: true })}
    ${f('order_sources', 'Order sources', { hint: 'comma-separated; empty takes every source' })}
    ${f('include_tags', 'Include tags', { hint: 'the order needs one of these; empty: no requirement' })}
    ${f('exclude_tags', 'Exclude tags', { hint: 'the order must have none of these' })}
    ${f('priority', 'Priority', { type: 'number', hint: 'lower is tried first' })}
    ${f('page_size', 'Page size', { type: 'number', hint: '1–500 orders per export page' })}
    ${f('timezone', 'Time zone', { hint: 'IANA, e.g. America/New_York' })}
    ${f('lookback_minutes', 'Lookback minutes', { type: 'number', hint: '0–1440' })}
    ${f('order_number_prefix', 'Order number prefix', { hint: 'up to 20 characters' })}
  </div>`;
}

export function StoresPage({ merchant }) {
  const list = useLoad(() => api.get(`${base(merchant)}?limit=500`), [merchant]);
  const [created, setCreated] = useState(null);
  const action = useSaveForm(list.reload);
  const form = action.form(formOf());
  const submit = action.submit(async () => {
    setCreated(await api.post(base(merchant), bodyOf(form)));
    return null;
  });
  return html`<section aria-labelledby="stores-h">
    <h1 id="stores-h">Store connections <span class="muted">${merchant}</span></h1>
    ${list.loading && html`<${Loading} />`}
    <${ErrorBanner} error=${list.error} />
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Store connections</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Username</th><th scope="col">Sources</th><th scope="col">Priority</th><th scope="col">State</th></tr></thead>
        <tbody>
          ${list.data.stores.map(
            (s) => html`<tr>
              <td><a href=${`#/m/${enc(merchant)}/stores/${s.id}`}>${s.name}</a></td>
              <td><code>${s.username}</code></td>
              <td>${s.order_sources.length ? s.order_sources.join(', ') : 'every source'}</td>
              <td>${s.priority}</td>
              <td>${s.retired_at ? `retired ${fmtDate(s.retired_at)}` : 'active'}</td>
            </tr>`,
          )}
          ${list.data.stores.length === 0 && html`<tr><td colspan="5" class="muted">No store connections yet: orders stay unrouted.</td></tr>`}
        </tbody>
      </table>`
    }
    ${
      created &&
      html`<${Notice}>
        <p>Store <a href=${`#/m/${enc(merchant)}/stores/${created.store.id}`}>${created.store.name}</a> created. In
        ShipStation, add a <strong>Custom Store</strong> and paste these values. The password is shown only now.</p>
        <${ShipStationForm} values=${created.shipstation} />
      </${Notice}>`
    }
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="new-store-h">
      <h2 id="new-store-h">New store connection</h2>
      <${SettingsFields} form=${form} setForm=${action.setForm} action=${action} />
      <${FormError} error=${action.error} />
      <button type="submit" class="primary" disabled=${action.busy}>Create store</button>
    </form>
  </section>`;
}

export function StorePage({ merchant, id }) {
  const url = `${base(merchant)}/${enc(id)}`;
  const data = useLoad(() => api.get(url), [url]);
  // Export gaps are alerts of the store: the windows ShipStation skipped, still to re-import.
  const gaps = useLoad(
    () =>
      api.get(
        `/v1/merchants/${enc(merchant)}/alerts${query({ store_id: id, kind: 'export_gap', status: 'open', limit: 20 })}`,
      ),
    [url, data.data?.health?.open_alerts],
  );
  const [rotated, setRotated] = useState(null);
  const [test, setTest] = useState(null);
  const [saved, setSaved] = useState(null);
  const edit = useSaveForm(data.reload);
  const act = useAction();
  if (data.loading && !data.data) return html`<${Loading} />`;
  if (data.error) return html`<${ErrorBanner} error=${data.error} />`;
  const { store, health, shipstation } = data.data;
  const current = edit.form(formOf(store));
  const save = edit.submit(async () => {
    const r = await api.patch(url, bodyOf(current));
    setSaved(`Saved; ${r.rerouted} order(s) re-routed.`);
    return formOf(r.store);
  });
  const rotate = () =>
    act.run(async () => {
      if (
        !confirm(
          'Issue a new password? The current one stops working at once; ShipStation needs the new one.',
        )
      )
        return;
      setRotated((await api.post(`${url}/rotate-password`)).shipstation);
      data.reload();
    });
  const retire = () =>
    act.run(async () => {
      if (
        !confirm(
          'Retire this store? It takes no new orders; ShipStation can still fetch the orders it already has.',
        )
      )
        return;
      const r = await api.del(url);
      setSaved(`Retired; ${r.rerouted} order(s) re-routed.`);
      data.reload();
    });
  const runTest = () => act.run(async () => setTest(await api.post(`${url}/test`)));

  return html`<section aria-labelledby="store-h">
    <p><a href=${`#/m/${enc(merchant)}/stores`}>← Store connections</a></p>
    <h1 id="store-h">${store.name} ${store.retired_at && html`<span class="status status-canceled">retired</span>`}</h1>
    ${saved && html`<${Notice}>${saved}</${Notice}>`}
    <div class="columns">
      <section class="card" aria-labelledby="ss-h">
        <h2 id="ss-h">ShipStation form</h2>
        <${ShipStationForm} values=${rotated ?? shipstation} />
        ${!rotated && html`<p class="hint">The password was shown when the store was created. Lost it? Rotate it.</p>`}
        ${rotated && html`<p class="hint">New password: paste it in ShipStation's store settings now; it is shown only once.</p>`}
        <div class="actions">
          <button type="button" onClick=${runTest} disabled=${act.busy}>Test connection</button>
          <button type="button" onClick=${rotate} disabled=${act.busy}>Rotate password</button>
          ${!store.retired_at && html`<button type="button" class="danger" onClick=${retire} disabled=${act.busy}>Retire</button>`}
        </div>
        <${ErrorBanner} error=${act.error} />
        ${
          test &&
          html`<div class=${`banner ${test.schema_valid ? 'ok' : 'error'}`} role="status">
            <strong>${test.schema_valid ? 'Connection works' : 'Export has schema errors'}</strong>:
            ${test.orders} order(s) in the last 24 h, ${test.pages} page(s) of ${test.page_size};
            XML ${test.schema_valid ? 'valid' : 'invalid'} against ShipStation's schema.
            ${test.errors.length > 0 && html`<ul>${test.errors.map((e) => html`<li>${e}</li>`)}</ul>`}
          </div>`
        }
      </section>
      <section class="card" aria-labelledby="health-h">
        <h2 id="health-h">Health</h2>
        <dl class="facts">
          <dt>Last export</dt><dd>${fmtDate(health.last_export_at)}</dd>
          <dt>Last window</dt><dd>${health.last_window ? `${fmtDate(health.last_window.start)} → ${fmtDate(health.last_window.end)}` : '—'}</dd>
          <dt>Last shipment notice</dt><dd>${fmtDate(health.last_notice_at)}</dd>
          <dt>Gaps</dt><dd>${
            gaps.data
              ? gaps.data.alerts.length
                ? html`<ul class="gaps">${gaps.data.alerts.map(
                    (a) =>
                      html`<li>${a.data?.from && a.data?.to ? `${fmtDate(a.data.from)} → ${fmtDate(a.data.to)}` : a.message}</li>`,
                  )}</ul>
                  <p class="hint">Orders changed in these intervals may not have reached ShipStation: re-import them there, then dismiss the alerts.</p>`
                : 'none'
              : '…'
          }</dd>
          <dt>Open alerts</dt><dd>${
            health.open_alerts > 0
              ? html`<a href=${`#/m/${enc(merchant)}/alerts?store_id=${store.id}`}>${health.open_alerts} for this store</a>`
              : 'none'
          }</dd>
        </dl>
      </section>
    </div>
    <form class="card" onSubmit=${save} novalidate aria-labelledby="edit-h">
      <h2 id="edit-h">Settings</h2>
      <${SettingsFields} form=${current} setForm=${edit.setForm} action=${edit} />
      <${FormError} error=${edit.error} />
      <button type="submit" class="primary" disabled=${edit.busy}>Save changes</button>
    </form>
  </section>`;
}
