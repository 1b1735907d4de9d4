import { api, download, ownerUrl, query } from '../api.js';
import { Field, FormError, html, Loading, useAction } from '../ui.js';
import { useState } from '/console/vendor/preact-htm.js';

const COLUMNS = [
  ['day', 'Day'],
  ['group', 'Group'],
  ['currency', 'Currency'],
  ['orders', 'Orders'],
  ['units', 'Units'],
  ['order_total', 'Order total'],
  ['shipping_paid', 'Shipping paid'],
  ['shipments', 'Shipments'],
  ['shipping_cost', 'Shipping cost'],
];
const NUMERIC = new Set(['orders', 'units', 'order_total', 'shipping_paid', 'shipments', 'shipping_cost']);

const isoDay = (d) => d.toISOString().slice(0, 10);

/** The last 30 days, in the browser's own time zone. */
function initialForm() {
  const today = new Date();
  return {
    from: isoDay(new Date(today.getTime() - 29 * 86_400_000)),
    to: isoDay(today),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    date: 'created',
    group: '',
  };
}

/** A merchant's summaries, or a warehouse's across all its merchants (the same query under both). */
export function SummariesPage({ owner }) {
  const url = ownerUrl(owner, '/summaries');
  const [form, setForm] = useState(initialForm);
  const [result, setResult] = useState(null);
  const action = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const load = (e) => {
    e.preventDefault();
    action.run(async () => {
      setResult(null);
      setResult({ ...(await api.get(`${url}${query(form)}`)), group: form.group });
    });
  };
  const csv = () =>
    action.run(() =>
      download(`${url}${query(form)}`, 'text/csv', `summaries-${owner.code}-${form.from}-${form.to}.csv`),
    );
  // The API names query fields as query.<name>.
  const err = (k) => action.fieldError(`query.${k}`);
  const f = (k, label, extra = {}) =>
    html`<${Field} label=${label} name=${k} value=${form[k]} onInput=${set(k)} error=${err(k)} ...${extra} />`;
  const cols = COLUMNS.filter(([k]) => k !== 'group' || result?.group);
  return html`<section aria-labelledby="summaries-h">
    <h1 id="summaries-h">Order summaries <span class="muted">${owner.kind === 'warehouse' ? `warehouse ${owner.code}, all merchants` : owner.code}</span></h1>
    <form class="card" onSubmit=${load} novalidate aria-label="Period and grouping">
      <div class="grid">
        ${f('from', 'From', { type: 'date', required: true })}
        ${f('to', 'To', { type: 'date', required: true, hint: 'inclusive; at most 366 days' })}
        ${f('timezone', 'Time zone', { hint: 'IANA, e.g. America/Chicago' })}
        ${f('date', 'Count orders by', {
          options: [
            { value: 'created', label: 'the day they were created' },
            { value: 'shipped', label: 'the day they shipped' },
          ],
        })}
        ${f('group', 'Group by', {
          options: [
            { value: '', label: 'nothing (per day)' },
            { value: 'store', label: 'store' },
            { value: 'source', label: 'order source' },
            { value: 'status', label: 'status' },
          ],
        })}
      </div>
      <${FormError} error=${action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled=${action.busy}>Show</button>
        <button type="button" onClick=${csv} disabled=${action.busy}>Download CSV</button>
      </div>
    </form>
    ${action.busy && html`<${Loading} />`}
    ${
      result &&
      html`<table class="list">
        <caption class="sr-only">Summaries</caption>
        <thead><tr>${cols.map(([k, label]) => html`<th scope="col" class=${NUMERIC.has(k) ? 'num' : ''}>${label}</th>`)}</tr></thead>
        <tbody>
          ${result.summaries.map(
            (s) =>
              html`<tr>${cols.map(([k]) => html`<td class=${NUMERIC.has(k) ? 'num' : ''}>${s[k] ?? '—'}</td>`)}</tr>`,
          )}
          ${result.summaries.length === 0 && html`<tr><td colspan=${cols.length} class="muted">Nothing in this period.</td></tr>`}
        </tbody>
      </table>`
    }
  </section>`;
}
