import { ApiError, api, enc } from '../api.js';
import { ErrorBanner, Field, errorsUnder, html, Loading, Notice, useAction, useLoad } from '../ui.js';
import { useState } from '/console/vendor/preact-htm.js';

const base = (merchant) => `/v1/merchants/${enc(merchant)}/rules`;

const pretty = (v) => JSON.stringify(v, null, 2);

/** The editable rule, as form strings (a new rule: empty conditions, one action to fill in). */
const formOf = (r) => ({
  name: r?.name ?? '',
  enabled: r?.enabled ?? true,
  stop: r?.stop ?? false,
  when: pretty(r?.when ?? []),
  actions: pretty(r?.then ?? [{ type: 'add_tags', tags: [] }]),
});

/**
 * A refusal of our own, in the API's shape, so that it shows beside its field like the API's.
 * Only JSON syntax is checked here; what a rule may say is the API's to judge.
 */
const localError = (path, message) =>
  new ApiError(400, {
    error: { code: 'invalid_json', message: 'invalid JSON', details: [{ path, message }] },
  });

function parseJson(text, path) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw localError(path, `not valid JSON (${e.message})`);
  }
}

function RuleForm({ merchant, rule, onDone, onCancel }) {
  const [form, setForm] = useState(formOf(rule));
  const action = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      const body = {
        name: form.name,
        enabled: form.enabled,
        stop: form.stop,
        when: parseJson(form.when, 'when'),
        // biome-ignore lint/suspicious/noThenProperty: the API names a rule's actions "then"
        then: parseJson(form.actions, 'then'),
      };
      const r = rule
        ? await api.patch(`${base(merchant)}/${rule.id}`, body)
        : await api.post(base(merchant), body);
      setForm(formOf());
      onDone(r.rule, rule ? 'saved' : 'created');
    });
  };
  const shown = ['name', 'enabled', 'stop', 'when', 'then'];
  const other =
    action.error instanceof ApiError &&
    action.error.details.some(
      (d) => !shown.some((p) => d.path === p || d.path.startsWith(`${p}[`) || d.path.startsWith(`${p}.`)),
    );
  const headId = rule ? `edit-rule-h-${rule.id}` : 'new-rule-h';
  return html`<form class="card" onSubmit=${submit} novalidate aria-labelledby=${headId}>
    <h2 id=${headId}>${rule ? `Edit rule “${rule.name}”` : 'New rule'}</h2>
    <${Field} label="Name" name="name" value=${form.name} onInput=${set('name')} error=${action.fieldError('name')} required />
    <${Field} label="Conditions (when)" name="when" rows=${6} value=${form.when} onInput=${set('when')}
      error=${errorsUnder(action.error, 'when')}
      hint='JSON list; every condition must hold, [] always holds. E.g. [{"field": "order_source", "op": "equals", "value": "web"}]' />
    <${Field} label="Actions (then)" name="then" rows=${8} value=${form.actions} onInput=${set('actions')}
      error=${errorsUnder(action.error, 'then')}
      hint='JSON list, at least one. E.g. [{"type": "default", "field": "shipping_method", "value": "USPS Priority"}]' />
    <fieldset class="choice">
      <legend>Options</legend>
      <label><input type="checkbox" checked=${form.enabled} onChange=${(e) => set('enabled')(e.target.checked)} /> enabled</label>
      <label><input type="checkbox" checked=${form.stop} onChange=${(e) => set('stop')(e.target.checked)} /> stop the list when this rule applies</label>
    </fieldset>
    ${action.error && (!(action.error instanceof ApiError) || !action.error.details.length || other) && html`<${ErrorBanner} error=${action.error} />`}
    <div class="actions">
      <button type="submit" class="primary" disabled=${action.busy}>${rule ? 'Save rule' : 'Create rule'}</button>
      ${onCancel && html`<button type="button" onClick=${onCancel}>Cancel</button>`}
    </div>
  </form>`;
}

/** An order id (digits) or an order's JSON → the preview's body. */
function previewBody(text) {
  const t = text.trim();
  // As a string: the route's id parser takes path-style ids (it refuses a JSON number today).
  if (/^\d+$/.test(t)) return { order_id: t };
  return parseJson(t, 'order');
}

function Preview({ merchant }) {
  const [input, setInput] = useState('');
  const [result, setResult] = useState(null);
  const action = useAction();
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      setResult(null);
      setResult(await api.post(`${base(merchant)}/preview`, previewBody(input)));
    });
  };
  const err = action.error;
  const fieldErr =
    err instanceof ApiError && err.details.length
      ? err.details.map((d) => `${d.path}: ${d.message}`).join('; ')
      : undefined;
  const eff = result?.effective;
  return html`<form class="card" onSubmit=${submit} novalidate aria-labelledby="preview-h">
    <h2 id="preview-h">Preview</h2>
    <${Field} label="Order JSON or order id" name="order" rows=${6} value=${input} onInput=${setInput} error=${fieldErr}
      hint="An order as you would POST it, or the id of a stored order. Nothing is stored." />
    ${err && !fieldErr && html`<${ErrorBanner} error=${err} />`}
    <button type="submit" disabled=${action.busy}>Preview</button>
    ${
      result &&
      html`<div class="preview" role="status">
        <dl class="facts">
          <dt>Status</dt><dd>${result.status}${result.applies ? '' : ' (rules no longer change this order)'}</dd>
          <dt>Routing</dt><dd>${
            result.routing.store_id
              ? html`<a href=${`#/m/${enc(merchant)}/stores/${result.routing.store_id}`}>store ${result.routing.store_id}</a>`
              : 'no store'
          }${result.routing.reason ? ` — ${result.routing.reason}` : ''}</dd>
          <dt>Rules applied</dt><dd>${eff.rules.applied.length ? eff.rules.applied.map((r) => r.name).join(', ') : 'none'}</dd>
          <dt>Holds</dt><dd>${result.holds.length ? result.holds.map((h) => `${h.kind}: ${h.reason}`).join('; ') : 'none'}</dd>
        </dl>
        <table class="list">
          <caption>Changes</caption>
          <thead><tr><th scope="col">Field</th><th scope="col">From</th><th scope="col">To</th></tr></thead>
          <tbody>
            ${eff.rules.changes.map(
              (c) =>
                html`<tr><td><code>${c.path}</code></td><td><code>${JSON.stringify(c.from)}</code></td><td><code>${JSON.stringify(c.to)}</code></td></tr>`,
            )}
            ${eff.rules.changes.length === 0 && html`<tr><td colspan="3" class="muted">No field changed.</td></tr>`}
          </tbody>
        </table>
        <details>
          <summary>Effective order</summary>
          <pre class="json">${pretty(eff)}</pre>
        </details>
      </div>`
    }
  </form>`;
}

export function RulesPage({ merchant }) {
  const list = useLoad(() => api.get(base(merchant)), [merchant]);
  const [editing, setEditing] = useState(null);
  const [done, setDone] = useState(null);
  const act = useAction();
  const rules = list.data?.rules ?? [];
  const patch = (r, body, what) =>
    act.run(async () => {
      await api.patch(`${base(merchant)}/${r.id}`, body);
      setDone(`Rule “${r.name}” ${what}.`);
      list.reload();
    });
  const move = (i, by) =>
    act.run(async () => {
      const ids = rules.map((r) => r.id);
      [ids[i], ids[i + by]] = [ids[i + by], ids[i]];
      await api.put(`${base(merchant)}/order`, { ids });
      setDone(`Rule “${rules[i].name}” moved ${by < 0 ? 'up' : 'down'}.`);
      list.reload();
    });
  const remove = (r) =>
    act.run(async () => {
      if (!confirm(`Delete rule “${r.name}”?`)) return;
      await api.del(`${base(merchant)}/${r.id}`);
      setDone(`Rule “${r.name}” deleted.`);
      if (editing?.id === r.id) setEditing(null);
      list.reload();
    });
  const saved = (r, what) => {
    setDone(`Rule “${r.name}” ${what}.`);
    setEditing(null);
    list.reload();
  };
  return html`<section aria-labelledby="rules-h">
    <h1 id="rules-h">Rules <span class="muted">${merchant}</span></h1>
    <p class="hint">Rules rewrite an order before it is routed, in this order; the warehouse's rules run after these.</p>
    ${done && html`<${Notice}>${done}</${Notice}>`}
    <${ErrorBanner} error=${act.error ?? list.error} />
    ${list.loading && html`<${Loading} />`}
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Rules in run order</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Name</th><th scope="col">Enabled</th><th scope="col">Conditions / actions</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          ${rules.map(
            (r, i) => html`<tr>
              <td>${r.position}</td>
              <td>${r.name}${r.stop ? html` <span class="muted">(stops)</span>` : ''}</td>
              <td><input type="checkbox" checked=${r.enabled} aria-label=${`Enabled: ${r.name}`} disabled=${act.busy}
                onChange=${(e) => patch(r, { enabled: e.target.checked }, e.target.checked ? 'enabled' : 'disabled')} /></td>
              <td>${r.when.length} / ${r.then.map((a) => a.type).join(', ')}</td>
              <td class="actions">
                <button type="button" onClick=${() => setEditing(r)} aria-label=${`Edit ${r.name}`}>Edit</button>
                <button type="button" disabled=${act.busy || i === 0} onClick=${() => move(i, -1)} aria-label=${`Move ${r.name} up`}>↑</button>
                <button type="button" disabled=${act.busy || i === rules.length - 1} onClick=${() => move(i, 1)} aria-label=${`Move ${r.name} down`}>↓</button>
                <button type="button" class="danger" disabled=${act.busy} onClick=${() => remove(r)} aria-label=${`Delete ${r.name}`}>Delete</button>
              </td>
            </tr>`,
          )}
          ${rules.length === 0 && html`<tr><td colspan="5" class="muted">No rules: orders are routed as sent.</td></tr>`}
        </tbody>
      </table>`
    }
    ${
      editing
        ? html`<${RuleForm} key=${`edit-${editing.id}`} merchant=${merchant} rule=${editing} onDone=${saved} onCancel=${() => setEditing(null)} />`
        : html`<${RuleForm} key="new" merchant=${merchant} onDone=${saved} />`
    }
    <${Preview} merchant=${merchant} />
  </section>`;
}
