import { api, enc } from '../api.js';
import {
  CopyValue,
  ErrorBanner,
  Field,
  FormError,
  fmtDate,
  html,
  Loading,
  Notice,
  Pager,
  useAction,
  useLoad,
  usePager,
  useSaveForm,
} from '../ui.js';
import { useState } from '/console/vendor/preact-htm.js';

/** Merchants the caller may act on (warehouse and operator), and creating one with its first credential. */
export function MerchantsPage({ user }) {
  const pager = usePager('merchants');
  const list = useLoad(
    () => api.get(`/v1/merchants?limit=50${pager.cursor ? `&cursor=${enc(pager.cursor)}` : ''}`),
    [pager.cursor],
  );
  const [created, setCreated] = useState(null);
  const action = useSaveForm(list.reload);
  const form = action.form({ code: '', name: '', warehouse: '' });
  const set = (k) => (v) => action.setForm({ ...form, [k]: v });
  const submit = action.submit(async () => {
    const body = { code: form.code, name: form.name };
    if (user.kind === 'admin' && form.warehouse) body.warehouse = form.warehouse;
    setCreated(await api.post('/v1/merchants', body));
    // The shell's merchant picker lists it at once.
    window.dispatchEvent(new Event('merchants-changed'));
    return null;
  });
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
      <${FormError} error=${action.error} />
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

/** The settings a merchant's own page edits, as loaded. */
const settingsOf = (m) => ({ name: m.name, normalise_addresses: m.normalise_addresses });

/**
 * A merchant's own settings: its name, address tidying (which re-evaluates its open orders like a
 * rule change), and — for its warehouse or the operator only — disabling it.
 */
export function MerchantSettingsPage({ merchant, user }) {
  const url = `/v1/merchants/${enc(merchant)}`;
  const data = useLoad(() => api.get(url), [url]);
  const [done, setDone] = useState(null);
  const edit = useSaveForm(data.reload);
  const act = useAction();
  if (data.loading && !data.data) return html`<${Loading} />`;
  if (data.error) return html`<${ErrorBanner} error=${data.error} />`;
  const m = data.data.merchant;
  const current = edit.form(settingsOf(m));
  const save = edit.submit(async () => {
    const r = await api.patch(url, current);
    setDone('Settings saved.');
    window.dispatchEvent(new Event('merchants-changed'));
    return settingsOf(r.merchant);
  });
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
      <${Field} label="Name" name="name" value=${current.name} onInput=${(v) => edit.setForm({ ...current, name: v })}
        error=${edit.fieldError('name')} required />
      <fieldset class="choice">
        <legend>Addresses</legend>
        <label><input type="checkbox" name="normalise_addresses" checked=${current.normalise_addresses}
          onChange=${(e) => edit.setForm({ ...current, normalise_addresses: e.target.checked })} />
          tidy ship-to and bill-to addresses (white space, ATTN and c/o lines) before rules and routing</label>
      </fieldset>
      <${FormError} error=${edit.error} />
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
