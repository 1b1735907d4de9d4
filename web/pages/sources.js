import { api, enc, query } from '../api.js';
import {
  ErrorBanner,
  Field,
  FormError,
  fmtDate,
  html,
  Loading,
  Notice,
  num,
  useAction,
  useLoad,
  useSaveForm,
} from '../ui.js';
import { useEffect, useState } from '/console/vendor/preact-htm.js';

// A merchant's source connections: ShipStation accounts shipbridge pulls orders from.
const base = (merchant) => `/v1/merchants/${enc(merchant)}/sources`;

/** The orders list filtered to one source's orders (a source's name is their order_source). */
const ordersOfSource = (merchant, name) => `#/m/${enc(merchant)}/orders${query({ order_source: name })}`;

/**
 * What a ShipStation source can be set to — its statuses, the ones a new source takes, the poll
 * interval's bounds — as the API answers it, so the form offers exactly what the API accepts.
 */
const loadSourceType = () => api.get('/v1/source-types/shipstation');

const TAG_MODES = [
  { value: '', label: 'none: every order' },
  { value: 'include', label: 'include: tagged only' },
  { value: 'exclude', label: 'exclude: untagged only' },
];

/** The editable settings, as form strings, from a source (or the defaults of a new one). */
const formOf = (s) => ({
  api_key: s?.api_key ?? '',
  api_secret: '',
  store_id: s?.store_id == null ? '' : String(s.store_id),
  // null: the API's default statuses (shown ticked; a new source's body leaves them out).
  order_statuses: s?.order_statuses ?? null,
  tag_mode: s?.tag?.mode ?? '',
  tag_name: s?.tag?.name ?? '',
  poll_minutes: s ? String(s.poll_minutes) : '',
  earliest_order_date: s?.earliest_order_date ?? '',
});

/**
 * Form strings → the API's fields, as typed (the API judges them and names the field it refuses).
 * Empty optional fields are null: no store filter, no tag filter, no earliest date.
 */
const fieldsOf = (f) => ({
  api_key: f.api_key,
  api_secret: f.api_secret,
  store_id: f.store_id.trim() === '' ? null : num(f.store_id),
  order_statuses: f.order_statuses,
  tag:
    f.tag_mode === '' && f.tag_name.trim() === ''
      ? null
      : { mode: f.tag_mode === '' ? null : f.tag_mode, name: f.tag_name },
  poll_minutes: f.poll_minutes.trim() === '' ? null : num(f.poll_minutes),
  earliest_order_date: f.earliest_order_date.trim() === '' ? null : f.earliest_order_date.trim(),
});

/** A new source's body: what was left empty is left out, so the API's defaults apply. */
function createBody(name, form) {
  const f = fieldsOf(form);
  const body = { type: 'shipstation', name, api_key: f.api_key, api_secret: f.api_secret };
  for (const k of ['store_id', 'order_statuses', 'tag', 'poll_minutes', 'earliest_order_date'])
    if (f[k] !== null) body[k] = f[k];
  return body;
}

/**
 * A change's body: only the fields that differ from the source as loaded. Sending the API key
 * unchanged would count as new keys (which re-enable a disabled source), so it goes only when edited.
 */
function patchBody(source, form) {
  const was = fieldsOf(formOf(source));
  const now = fieldsOf(form);
  const body = {};
  for (const k of ['api_key', 'store_id', 'order_statuses', 'tag', 'poll_minutes', 'earliest_order_date'])
    if (JSON.stringify(now[k]) !== JSON.stringify(was[k])) body[k] = now[k];
  if (form.api_secret !== '') body.api_secret = form.api_secret;
  return body;
}

const storeText = (s) => (s.store_id === null ? 'every store' : `store ${s.store_id}`);
const tagText = (s) => (s.tag ? `${s.tag.mode} “${s.tag.name}”` : 'none');
const stateText = (s) =>
  s.enabled ? 'enabled' : `disabled${s.disabled_reason ? ` (${s.disabled_reason})` : ''}`;

/** The fields of a source, for a new one and for a change (the name is set once, by the caller). */
function SourceFields({ form, setForm, action, creating, type }) {
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const statuses = form.order_statuses ?? type.default_order_statuses;
  const toggle = (st) => (e) =>
    setForm({
      ...form,
      order_statuses: e.target.checked
        ? type.order_statuses.filter((x) => x === st || statuses.includes(x))
        : statuses.filter((x) => x !== st),
    });
  const poll = type.poll_minutes;
  const err = (p) => action.fieldError(p);
  const statusesErr = err('order_statuses');
  const errId = `statuses-err-${creating ? 'new' : 'edit'}`;
  return html`<div class="grid">
      <${Field} label="API key" name="api_key" value=${form.api_key} onInput=${set('api_key')} error=${err('api_key')}
        hint="ShipStation: Settings → Account → API Settings" required=${creating} />
      <${Field} label="API secret" name="api_secret" type="password" value=${form.api_secret} onInput=${set('api_secret')}
        error=${err('api_secret')} autocomplete="new-password" required=${creating}
        hint=${creating ? 'stored encrypted; never shown again' : 'leave empty to keep the stored one; enter it with a new API key'} />
      <${Field} label="ShipStation store id" name="store_id" type="number" value=${form.store_id} onInput=${set('store_id')}
        error=${err('store_id')} hint="empty: every store of the account; Test connection lists their ids" />
      <${Field} label="Poll minutes" name="poll_minutes" type="number" value=${form.poll_minutes} onInput=${set('poll_minutes')}
        error=${err('poll_minutes')} hint=${`minutes between pulls, ${poll.min}–${poll.max}; empty: ${poll.default}`} />
      <${Field} label="Tag filter" name="tag_mode" value=${form.tag_mode} onInput=${set('tag_mode')}
        error=${err('tag.mode') ?? (err('tag') && !err('tag.name') ? err('tag') : undefined)} options=${TAG_MODES} />
      <${Field} label="Tag name" name="tag_name" value=${form.tag_name} onInput=${set('tag_name')} error=${err('tag.name')}
        hint="exactly as in ShipStation (case-sensitive)" />
      <${Field} label="Earliest order date" name="earliest_order_date" value=${form.earliest_order_date}
        onInput=${set('earliest_order_date')} error=${err('earliest_order_date')}
        hint="orders dated earlier are never taken; ISO 8601 with offset, e.g. 2026-12-01T00:00:00Z" />
    </div>
    <fieldset class=${`choice${statusesErr ? ' has-error' : ''}`} aria-describedby=${statusesErr ? errId : undefined}>
      <legend>ShipStation statuses taken</legend>
      ${type.order_statuses.map(
        (st) =>
          html`<label><input type="checkbox" name="order_statuses" value=${st} checked=${statuses.includes(st)} onChange=${toggle(st)} /> ${st}</label>`,
      )}
      <p class="hint">An order is taken the first time it is seen with one of these; once taken, it follows every later change.</p>
      ${statusesErr && html`<p class="field-error" id=${errId} role="alert">${statusesErr}</p>`}
    </fieldset>`;
}

export function SourcesPage({ merchant }) {
  const list = useLoad(() => api.get(base(merchant)), [merchant]);
  const type = useLoad(loadSourceType, []);
  const [name, setName] = useState('');
  const [created, setCreated] = useState(null);
  const action = useSaveForm(list.reload);
  const form = action.form(formOf());
  const submit = action.submit(async () => {
    const r = await api.post(base(merchant), createBody(name, form));
    setCreated(r.source);
    setName('');
    return null;
  });
  return html`<section aria-labelledby="sources-h">
    <h1 id="sources-h">Source connections <span class="muted">${merchant}</span></h1>
    <p class="hint">ShipStation accounts of the merchant that shipbridge pulls orders from; each order's source is the connection's name.</p>
    ${list.loading && html`<${Loading} />`}
    <${ErrorBanner} error=${list.error} />
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Source connections</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Store</th><th scope="col">Statuses</th><th scope="col">Tag</th>
          <th scope="col" class="num">Poll (min)</th><th scope="col">State</th><th scope="col">Last pull</th><th scope="col">Cursor</th><th scope="col">Orders</th></tr></thead>
        <tbody>
          ${list.data.sources.map(
            (s) => html`<tr>
              <td><a href=${`#/m/${enc(merchant)}/sources/${s.id}`}>${s.name}</a></td>
              <td>${storeText(s)}</td>
              <td>${s.order_statuses.join(', ')}</td>
              <td>${tagText(s)}</td>
              <td class="num">${s.poll_minutes}</td>
              <td>${s.enabled ? 'enabled' : html`<span class="warn">${stateText(s)}</span>`}</td>
              <td>${fmtDate(s.health.last_pull_at)}${s.health.last_pull_error ? html` <span class="warn">${s.health.last_pull_error}</span>` : ''}</td>
              <td>${fmtDate(s.health.cursor)}</td>
              <td><a href=${ordersOfSource(merchant, s.name)} aria-label=${`Orders of ${s.name}`}>${s.health.orders_taken}</a></td>
            </tr>`,
          )}
          ${list.data.sources.length === 0 && html`<tr><td colspan="9" class="muted">No source connections: orders come in over the API only.</td></tr>`}
        </tbody>
      </table>`
    }
    ${
      created &&
      html`<${Notice}>Source <a href=${`#/m/${enc(merchant)}/sources/${created.id}`}>${created.name}</a> created; its first pull
        starts now. The API secret is stored encrypted and is never shown again.</${Notice}>`
    }
    <${ErrorBanner} error=${type.error} />
    ${
      type.data &&
      html`<form class="card" onSubmit=${submit} novalidate aria-labelledby="new-source-h">
      <h2 id="new-source-h">New ShipStation source</h2>
      <${Field} label="Name" name="name" value=${name} onInput=${setName} error=${action.fieldError('name')} required
        hint="becomes the order source of its orders; cannot change later" />
      <${SourceFields} form=${form} setForm=${action.setForm} action=${action} type=${type.data} creating />
      <${FormError} error=${action.error} />
      <button type="submit" class="primary" disabled=${action.busy}>Create source</button>
    </form>`
    }
  </section>`;
}

/** What Test connection answered: the account's stores (their ids) and tags, or why it failed. */
function TestResult({ test, source }) {
  if (!test.ok)
    return html`<div class="banner error" role="status"><strong>Connection failed</strong>: ${test.error}</div>`;
  return html`<div class="banner ok" role="status">
    <strong>Connection works.</strong>
    ${
      test.tag_found === false
        ? html` <span class="warn">No tag named “${source.tag.name}” in the account</span> (names match exactly, case-sensitive).`
        : test.tag_found
          ? ` The tag “${source.tag.name}” exists.`
          : ''
    }
    <table class="list">
      <caption>Stores of the account</caption>
      <thead><tr><th scope="col" class="num">Store id</th><th scope="col">Name</th><th scope="col">Marketplace</th><th scope="col">Active</th></tr></thead>
      <tbody>
        ${test.stores.map(
          (s) =>
            html`<tr><td class="num">${s.id}</td><td>${s.name}</td><td>${s.marketplace ?? '—'}</td><td>${s.active ? 'yes' : 'no'}</td></tr>`,
        )}
        ${test.stores.length === 0 && html`<tr><td colspan="4" class="muted">No stores.</td></tr>`}
      </tbody>
    </table>
    <p><strong>Tags:</strong> ${test.tags.length ? test.tags.map((t) => t.name).join(', ') : 'none'}</p>
  </div>`;
}

export function SourcePage({ merchant, id }) {
  const url = `${base(merchant)}/${enc(id)}`;
  const data = useLoad(() => api.get(url), [url]);
  const type = useLoad(loadSourceType, []);
  const [test, setTest] = useState(null);
  const [done, setDone] = useState(null);
  // Pull now: the source is read again until a pull has finished since the request (for two minutes
  // at most: an instance that runs no background jobs leaves the pull to another one).
  const [pulling, setPulling] = useState(null);
  const edit = useSaveForm(data.reload);
  const act = useAction();
  const lastPull = data.data?.source.health.last_pull_at;
  useEffect(() => {
    if (!pulling) return undefined;
    if (lastPull && new Date(lastPull) >= new Date(pulling.requestedAt)) {
      setPulling(null);
      setDone(`Pull finished at ${fmtDate(lastPull)}.`);
      return undefined;
    }
    if (Date.now() - pulling.since > 120_000) {
      setPulling(null);
      setDone('The pull has not finished yet; the source shows it when it has.');
      return undefined;
    }
    const timer = setTimeout(() => data.reload(), 1500);
    return () => clearTimeout(timer);
  }, [pulling, lastPull, data.loading]);
  if ((data.loading && !data.data) || (type.loading && !type.data)) return html`<${Loading} />`;
  if (data.error || type.error) return html`<${ErrorBanner} error=${data.error ?? type.error} />`;
  const s = data.data.source;
  const h = s.health;
  const current = edit.form(formOf(s));
  const save = edit.submit(async () => {
    const body = patchBody(s, current);
    if (Object.keys(body).length === 0) {
      setDone('Nothing changed.');
      return undefined;
    }
    const r = await api.patch(url, body);
    setDone('Saved.');
    return formOf(r.source);
  });
  const setEnabled = (enabled) =>
    act.run(async () => {
      await api.patch(url, { enabled });
      setDone(enabled ? `${s.name} enabled: it pulls again.` : `${s.name} disabled: it pulls no more.`);
      data.reload();
    });
  const pull = () =>
    act.run(async () => {
      const r = await api.post(`${url}/pull`);
      setDone(`Pull requested at ${fmtDate(r.pull.requested_at)}…`);
      setPulling({ requestedAt: r.pull.requested_at, since: Date.now() });
    });
  const retire = () =>
    act.run(async () => {
      if (
        !confirm(
          `Retire ${s.name}? It pulls no more (this cannot be undone); its orders stay, and their tracking still goes back.`,
        )
      )
        return;
      await api.del(url);
      location.hash = `#/m/${enc(merchant)}/sources`;
    });
  const runTest = () => act.run(async () => setTest(await api.post(`${url}/test`)));

  return html`<section aria-labelledby="source-h">
    <p><a href=${`#/m/${enc(merchant)}/sources`}>← Source connections</a></p>
    <h1 id="source-h">${s.name} ${!s.enabled && html`<span class="status status-canceled">disabled</span>`}</h1>
    ${done && html`<${Notice}>${done}</${Notice}>`}
    <div class="columns">
      <section class="card" aria-labelledby="conn-h">
        <h2 id="conn-h">Connection</h2>
        <dl class="facts">
          <dt>Type</dt><dd>ShipStation</dd>
          <dt>API key</dt><dd><code>${s.api_key}</code></dd>
          <dt>Store</dt><dd>${storeText(s)}</dd>
          <dt>Statuses taken</dt><dd>${s.order_statuses.join(', ')}</dd>
          <dt>Tag filter</dt><dd>${tagText(s)}</dd>
          <dt>Poll minutes</dt><dd>${s.poll_minutes}</dd>
          <dt>Earliest order date</dt><dd>${fmtDate(s.earliest_order_date)}</dd>
          <dt>State</dt><dd class="state">${s.enabled ? 'enabled' : html`<span class="warn">${stateText(s)}</span>`}</dd>
        </dl>
        <div class="actions">
          <button type="button" onClick=${runTest} disabled=${act.busy}>Test connection</button>
          <button type="button" onClick=${pull} disabled=${act.busy || !s.enabled || pulling !== null}>Pull now</button>
          <button type="button" onClick=${() => setEnabled(!s.enabled)} disabled=${act.busy}>${s.enabled ? 'Disable' : 'Enable'}</button>
          <button type="button" class="danger" onClick=${retire} disabled=${act.busy}>Retire</button>
        </div>
        <${ErrorBanner} error=${act.error} />
        ${test && html`<${TestResult} test=${test} source=${s} />`}
      </section>
      <section class="card" aria-labelledby="pulls-h">
        <h2 id="pulls-h">Pulls</h2>
        <dl class="facts">
          <dt>Last pull</dt><dd class="last-pull">${fmtDate(h.last_pull_at)}</dd>
          <dt>Last pull's error</dt><dd>${h.last_pull_error ? html`<span class="warn">${h.last_pull_error}</span>` : 'none'}</dd>
          <dt>Orders in the last pull</dt><dd>${h.last_pull_orders ?? '—'}</dd>
          <dt>Cursor</dt><dd>${fmtDate(h.cursor)}</dd>
          <dt>Next pull</dt><dd>${s.enabled ? fmtDate(h.next_pull_at) : '— (disabled)'}</dd>
          <dt>Orders taken</dt><dd><a href=${ordersOfSource(merchant, s.name)}>${h.orders_taken} order(s) from ${s.name}</a></dd>
          <dt>Open alerts</dt><dd>${
            h.open_alerts > 0
              ? html`<a href=${`#/m/${enc(merchant)}/alerts`}>${h.open_alerts} open</a>`
              : 'none'
          }</dd>
        </dl>
        <p class="hint">The cursor is the newest ShipStation change stored; each pull starts a few minutes before it.</p>
      </section>
    </div>
    <form class="card" onSubmit=${save} novalidate aria-labelledby="source-edit-h">
      <h2 id="source-edit-h">Settings</h2>
      <p class="hint">The name, ${s.name}, is its orders' source and cannot change. New keys after regenerating them in ShipStation
        also re-enable a source that ShipStation refused.</p>
      <${SourceFields} form=${current} setForm=${edit.setForm} action=${edit} type=${type.data} />
      <${FormError} error=${edit.error} />
      <button type="submit" class="primary" disabled=${edit.busy}>Save changes</button>
    </form>
  </section>`;
}
