import { api, enc } from '../api.js';
import {
  CopyValue,
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

/** Merchants the caller may act on (warehouse and operator), and creating one with its first credential. */
export function MerchantsPage({ user }) {
  const pager = usePager('merchants');
  const list = useLoad(
    () => api.get(`/v1/merchants?limit=50${pager.cursor ? `&cursor=${enc(pager.cursor)}` : ''}`),
    [pager.cursor],
  );
  const [form, setForm] = useState({ code: '', name: '', warehouse: '' });
  const [created, setCreated] = useState(null);
  const action = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      const body = { code: form.code, name: form.name };
      if (user.kind === 'admin' && form.warehouse) body.warehouse = form.warehouse;
      const r = await api.post('/v1/merchants', body);
      setCreated(r);
      setForm({ code: '', name: '', warehouse: '' });
      list.reload();
      // The shell's merchant picker lists it at once.
      window.dispatchEvent(new Event('merchants-changed'));
    });
  };
  return html`<section aria-labelledby="merchants-h">
    <h1 id="merchants-h">Merchants</h1>
    ${list.loading && html`<${Loading} />`}
    <${ErrorBanner} error=${list.error} />
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Merchants</caption>
        <thead><tr><th scope="col">Code</th><th scope="col">Name</th><th scope="col">Warehouse</th><th scope="col">State</th><th scope="col">Created</th></tr></thead>
        <tbody>
          ${list.data.merchants.map(
            (m) => html`<tr>
              <td><a href=${`#/m/${enc(m.code)}/orders`}>${m.code}</a></td>
              <td>${m.name}</td>
              <td>${m.warehouse ? html`<a href=${`#/w/${enc(m.warehouse)}/rules`} aria-label=${`Warehouse ${m.warehouse}`}>${m.warehouse}</a>` : '—'}</td>
              <td>${m.disabled ? html`<span class="status status-canceled">disabled</span>` : 'active'}</td>
              <td>${fmtDate(m.created_at)}</td>
            </tr>`,
          )}
          ${list.data.merchants.length === 0 && html`<tr><td colspan="5" class="muted">No merchants yet.</td></tr>`}
        </tbody>
      </table>
      <${Pager} pager=${pager} nextCursor=${list.data.next_cursor} />`
    }
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="new-merchant-h">
      <h2 id="new-merchant-h">New merchant</h2>
      <${Field} label="Code" name="code" value=${form.code} onInput=${set('code')} error=${action.fieldError('code')}
        hint="letters, digits, - and _; used in URLs" required />
      <${Field} label="Name" name="name" value=${form.name} onInput=${set('name')} error=${action.fieldError('name')} required />
      ${
        user.kind === 'admin' &&
        html`<${Field} label="Warehouse code" name="warehouse" value=${form.warehouse} onInput=${set('warehouse')}
          error=${action.fieldError('warehouse')} hint="empty for a standalone merchant" />`
      }
      ${action.error && !action.error.details?.length && html`<${ErrorBanner} error=${action.error} />`}
      <button type="submit" class="primary" disabled=${action.busy}>Create merchant</button>
    </form>
    ${
      created &&
      html`<${Notice}>
        <p>Merchant <a href=${`#/m/${enc(created.merchant.code)}/stores`}>${created.merchant.code}</a> created. Its first
        credential is shown only now:</p>
        <${CopyValue} label="API user" value=${created.credential.api_user} />
        <${CopyValue} label="API key" value=${created.credential.api_key} secret />
      </${Notice}>`
    }
  </section>`;
}

/**
 * A merchant's own settings: its name, address tidying (which re-evaluates its open orders like a
 * rule change), and — for its warehouse or the operator only — disabling it.
 */
export function MerchantSettingsPage({ merchant, user }) {
  const url = `/v1/merchants/${enc(merchant)}`;
  const data = useLoad(() => api.get(url), [url]);
  const [form, setForm] = useState(null);
  const [done, setDone] = useState(null);
  const edit = useAction();
  const act = useAction();
  if (data.loading && !data.data) return html`<${Loading} />`;
  if (data.error) return html`<${ErrorBanner} error=${data.error} />`;
  const m = data.data.merchant;
  const current = form ?? { name: m.name, normalise_addresses: m.normalise_addresses };
  const save = (e) => {
    e.preventDefault();
    edit.run(async () => {
      await api.patch(url, current);
      setDone('Settings saved.');
      setForm(null);
      data.reload();
      window.dispatchEvent(new Event('merchants-changed'));
    });
  };
  const setDisabled = (disabled) =>
    act.run(async () => {
      if (
        disabled &&
        !confirm(
          `Disable ${m.code}? Its credentials and console sessions stop working, its stores export empty pages and its webhooks pause; nothing is deleted.`,
        )
      )
        return;
      await api.patch(url, { disabled });
      setDone(disabled ? `${m.code} disabled.` : `${m.code} enabled again.`);
      data.reload();
      window.dispatchEvent(new Event('merchants-changed'));
    });
  return html`<section aria-labelledby="settings-h">
    <h1 id="settings-h">Settings <span class="muted">${m.code}</span>
      ${m.disabled && html` <span class="status status-canceled">disabled</span>`}</h1>
    ${done && html`<${Notice}>${done}</${Notice}>`}
    <form class="card" onSubmit=${save} novalidate aria-labelledby="merchant-edit-h">
      <h2 id="merchant-edit-h">Merchant</h2>
      <dl class="facts">
        <dt>Code</dt><dd><code>${m.code}</code></dd>
        <dt>Warehouse</dt><dd>${m.warehouse ?? 'none (standalone)'}</dd>
        <dt>Created</dt><dd>${fmtDate(m.created_at)}</dd>
      </dl>
      <${Field} label="Name" name="name" value=${current.name} onInput=${(v) => setForm({ ...current, name: v })}
        error=${edit.fieldError('name')} required />
      <fieldset class="choice">
        <legend>Addresses</legend>
        <label><input type="checkbox" name="normalise_addresses" checked=${current.normalise_addresses}
          onChange=${(e) => setForm({ ...current, normalise_addresses: e.target.checked })} />
          tidy ship-to and bill-to addresses (white space, ATTN and c/o lines) before rules and routing</label>
      </fieldset>
      ${edit.error && !edit.error.details?.length && html`<${ErrorBanner} error=${edit.error} />`}
      <button type="submit" class="primary" disabled=${edit.busy}>Save settings</button>
    </form>
    ${
      user.kind !== 'merchant' &&
      html`<section class="card" aria-labelledby="merchant-state-h">
        <h2 id="merchant-state-h">Access</h2>
        <p>${
          m.disabled
            ? `Disabled ${fmtDate(m.disabled_at)}: its credentials answer 401, its stores export empty pages, its webhooks are paused. Shipment notices are still stored and applied.`
            : 'Active. Disabling keeps every order and setting, and can be undone.'
        }</p>
        <${ErrorBanner} error=${act.error} />
        <button type="button" class=${m.disabled ? 'primary' : 'danger'} onClick=${() => setDisabled(!m.disabled)} disabled=${act.busy}>
          ${m.disabled ? 'Enable merchant' : 'Disable merchant'}
        </button>
      </section>`
    }
  </section>`;
}
