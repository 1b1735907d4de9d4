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
        <thead><tr><th scope="col">Code</th><th scope="col">Name</th><th scope="col">Warehouse</th><th scope="col">Created</th></tr></thead>
        <tbody>
          ${list.data.merchants.map(
            (m) => html`<tr>
              <td><a href=${`#/m/${enc(m.code)}/orders`}>${m.code}</a></td>
              <td>${m.name}</td>
              <td>${m.warehouse ?? '—'}</td>
              <td>${fmtDate(m.created_at)}</td>
            </tr>`,
          )}
          ${list.data.merchants.length === 0 && html`<tr><td colspan="4" class="muted">No merchants yet.</td></tr>`}
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
