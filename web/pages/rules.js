import { ApiError, api, enc, ownerUrl } from '../api.js';
import { ErrorBanner, Field, errorsUnder, html, Loading, Notice, useAction, useLoad } from '../ui.js';
import { useEffect, useRef, useState } from '/console/vendor/preact-htm.js';

// One page for both owners: a merchant's rules and a warehouse's (which run for each of its
// merchants, after the merchant's own). The API has the same routes under both.
const base = (owner) => ownerUrl(owner, '/rules');

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

function RuleForm({ owner, rule, onDone, onCancel }) {
  const [form, setForm] = useState(formOf(rule));
  const heading = useRef(null);
  // Editing opens this form below the list: take the keyboard's focus there.
  useEffect(() => {
    if (rule) heading.current?.focus();
  }, []);
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
      const r = rule ? await api.patch(`${base(owner)}/${rule.id}`, body) : await api.post(base(owner), body);
      setForm(formOf());
      onDone(r, rule ? 'saved' : 'created');
    });
  };
  const shown = ['name', 'enabled', 'stop', 'when', 'then'];
  const other =
    action.error instanceof ApiError &&
    action.error.details.some(
      (d) => !shown.some((p) => d.path === p || d.path.startsWith(`${p}[`) || d.path.startsWith(`${p}.`)),
    );
  const headId = rule ? `edit-rule-h-${rule.id}` : 'new-rule-h';
  const actionsHint =
    owner.kind === 'warehouse'
      ? `JSON list, at least one (route_to_store only in a merchant's own rules). E.g. [{"type": "add_tags", "tags": ["3pl"]}]`
      : 'JSON list, at least one. E.g. [{"type": "default", "field": "shipping_method", "value": "USPS Priority"}]';
  return html`<form class="card" onSubmit=${submit} novalidate aria-labelledby=${headId}>
    <h2 id=${headId} ref=${heading} tabindex="-1">${rule ? `Edit rule “${rule.name}”` : 'New rule'}</h2>
    <${Field} label="Name" name="name" value=${form.name} onInput=${set('name')} error=${action.fieldError('name')} required />
    <${Field} label="Conditions (when)" name="when" rows=${6} value=${form.when} onInput=${set('when')}
      error=${errorsUnder(action.error, 'when')}
      hint='JSON list; every condition must hold, [] always holds. E.g. [{"field": "order_source", "op": "equals", "value": "web"}]' />
    <${Field} label="Actions (then)" name="then" rows=${8} value=${form.actions} onInput=${set('actions')}
      error=${errorsUnder(action.error, 'then')} hint=${actionsHint} />
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
  if (/^\d+$/.test(t)) return { order_id: Number(t) };
  return parseJson(t, 'order');
}

/**
 * What rules made of an order: the rules that fired and each field they changed. The preview and
 * an order's page show the API's `effective` object with it.
 */
export function RuleEffects({ effective, caption = 'Changes' }) {
  const { applied, changes } = effective.rules;
  return html`<div class="rule-effects">
    <dl class="facts">
      <dt>Rules applied</dt><dd>${applied.length ? applied.map((r) => `${r.name} (${r.owner})`).join(', ') : 'none'}</dd>
    </dl>
    <table class="list">
      <caption>${caption}</caption>
      <thead><tr><th scope="col">Field</th><th scope="col">From</th><th scope="col">To</th></tr></thead>
      <tbody>
        ${changes.map(
          (c) =>
            html`<tr><td><code>${c.path}</code></td><td><code>${JSON.stringify(c.from)}</code></td><td><code>${JSON.stringify(c.to)}</code></td></tr>`,
        )}
        ${changes.length === 0 && html`<tr><td colspan="3" class="muted">No field changed.</td></tr>`}
      </tbody>
    </table>
    <details>
      <summary>Effective order</summary>
      <pre class="json">${pretty(effective)}</pre>
    </details>
  </div>`;
}

/**
 * The merchants whose orders a warehouse's rules apply to (a preview runs for one of them: its own
 * rules first, then the warehouse's).
 */
function useWarehouseMerchants(owner) {
  return useLoad(
    async () =>
      owner.kind === 'warehouse'
        ? (await api.get('/v1/merchants?limit=500')).merchants.filter((m) => m.warehouse === owner.code)
        : [],
    [owner.kind, owner.code],
  );
}

function Preview({ owner }) {
  const merchants = useWarehouseMerchants(owner);
  const [picked, setPicked] = useState('');
  const [input, setInput] = useState('');
  const [result, setResult] = useState(null);
  const action = useAction();
  const merchant = owner.kind === 'merchant' ? owner.code : picked || (merchants.data?.[0]?.code ?? '');
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      setResult(null);
      const r = await api.post(`/v1/merchants/${enc(merchant)}/rules/preview`, previewBody(input));
      setResult({ ...r, merchant });
    });
  };
  const err = action.error;
  const fieldErr =
    err instanceof ApiError && err.details.length
      ? err.details.map((d) => `${d.path}: ${d.message}`).join('; ')
      : undefined;
  const noMerchant = owner.kind === 'warehouse' && merchants.data && merchants.data.length === 0;
  return html`<form class="card" onSubmit=${submit} novalidate aria-labelledby="preview-h">
    <h2 id="preview-h">Preview</h2>
    ${
      owner.kind === 'warehouse' &&
      merchants.data &&
      merchants.data.length > 0 &&
      html`<${Field} label="Preview for merchant" name="preview-merchant" value=${merchant} onInput=${setPicked}
        options=${merchants.data.map((m) => ({ value: m.code, label: `${m.code} — ${m.name}` }))}
        hint="Its own rules run first, then these." />`
    }
    ${noMerchant && html`<p class="muted">This warehouse has no merchants yet: there is nothing to preview against.</p>`}
    <${Field} label="Order JSON or order id" name="order" rows=${6} value=${input} onInput=${setInput} error=${fieldErr}
      hint="An order as you would POST it, or the id of a stored order of that merchant. Nothing is stored." />
    ${err && !fieldErr && html`<${ErrorBanner} error=${err} />`}
    <button type="submit" disabled=${action.busy || !merchant}>Preview</button>
    ${
      result &&
      html`<div class="preview" role="status">
        <dl class="facts">
          <dt>Status</dt><dd>${result.status}${result.applies ? '' : ' (rules no longer change this order)'}</dd>
          <dt>Routing</dt><dd>${
            result.routing.store_id
              ? html`<a href=${`#/m/${enc(result.merchant)}/stores/${result.routing.store_id}`}>store ${result.routing.store_id}</a>`
              : 'no store'
          }${result.routing.reason ? ` — ${result.routing.reason}` : ''}</dd>
          <dt>Holds</dt><dd>${result.holds.length ? result.holds.map((h) => `${h.kind}: ${h.reason}`).join('; ') : 'none'}</dd>
        </dl>
        <${RuleEffects} effective=${result.effective} />
      </div>`
    }
  </form>`;
}

/** What a rule change answers beyond the rule: the background re-evaluation of open orders, when there is one. */
const reevaluationNote = (r) =>
  r?.reevaluation ? ' Open orders are being re-evaluated in the background.' : '';

export function RulesPage({ owner }) {
  const url = base(owner);
  const list = useLoad(() => api.get(url), [url]);
  const [editing, setEditing] = useState(null);
  const [done, setDone] = useState(null);
  const act = useAction();
  const rules = list.data?.rules ?? [];
  // A switched checkbox shows its new state while the change is saved (else it would spring back
  // until the list is reloaded); a refusal puts it back.
  const [switching, setSwitching] = useState({});
  // A row's buttons are disabled while a change runs, which drops the keyboard's focus: once the
  // list is reloaded, give it back to the first of these ids that can take it.
  const [refocus, setRefocus] = useState(null);
  useEffect(() => {
    setSwitching({});
    if (!refocus || !list.data) return;
    const el = [...refocus, 'rules-h'].map((id) => document.getElementById(id)).find((e) => e && !e.disabled);
    el?.focus();
    setRefocus(null);
  }, [list.data]);
  const ctl = (r, what) => `rule-${r.id}-${what}`;
  const setEnabled = async (r, enabled) => {
    setSwitching((s) => ({ ...s, [r.id]: enabled }));
    const ok = await act.run(async () => {
      const answer = await api.patch(`${url}/${r.id}`, { enabled });
      setDone(`Rule “${r.name}” ${enabled ? 'enabled' : 'disabled'}.${reevaluationNote(answer)}`);
      setRefocus([ctl(r, 'enabled')]);
      list.reload();
      return true;
    });
    if (!ok) setSwitching({});
  };
  const move = (i, by) =>
    act.run(async () => {
      const ids = rules.map((r) => r.id);
      [ids[i], ids[i + by]] = [ids[i + by], ids[i]];
      const answer = await api.put(`${url}/order`, { ids });
      setDone(`Rule “${rules[i].name}” moved ${by < 0 ? 'up' : 'down'}.${reevaluationNote(answer)}`);
      setRefocus([ctl(rules[i], by < 0 ? 'up' : 'down'), ctl(rules[i], 'edit')]);
      list.reload();
    });
  const remove = (r) =>
    act.run(async () => {
      if (!confirm(`Delete rule “${r.name}”?`)) return;
      const answer = await api.del(`${url}/${r.id}`);
      setDone(`Rule “${r.name}” deleted.${reevaluationNote(answer)}`);
      if (editing?.id === r.id) setEditing(null);
      setRefocus([]);
      list.reload();
    });
  const saved = (answer, what) => {
    setDone(`Rule “${answer.rule.name}” ${what}.${reevaluationNote(answer)}`);
    setEditing(null);
    setRefocus([ctl(answer.rule, 'edit')]);
    list.reload();
  };
  const warehouse = owner.kind === 'warehouse';
  return html`<section aria-labelledby="rules-h">
    <h1 id="rules-h" tabindex="-1">${warehouse ? 'Warehouse rules' : 'Rules'} <span class="muted">${owner.code}</span></h1>
    <p class="hint">${
      warehouse
        ? "Rules of the warehouse rewrite every one of its merchants' orders before routing, in this order, after the merchant's own rules (so the warehouse has the last word)."
        : "Rules rewrite an order before it is routed, in this order; the warehouse's rules run after these."
    }</p>
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
            (r, i) => html`<tr key=${r.id}>
              <td>${r.position}</td>
              <td>${r.name}${r.stop ? html` <span class="muted">(stops)</span>` : ''}${
                r.invalid_reason
                  ? html`<br /><span class="warn">Invalid: ${r.invalid_reason} — save it with a live store, or delete it.</span>`
                  : ''
              }</td>
              <td><input type="checkbox" id=${ctl(r, 'enabled')} checked=${switching[r.id] ?? r.enabled} aria-label=${`Enabled: ${r.name}`}
                disabled=${act.busy} onChange=${(e) => setEnabled(r, e.target.checked)} /></td>
              <td>${r.when.length} / ${r.then.map((a) => a.type).join(', ')}</td>
              <td class="actions">
                <button type="button" id=${ctl(r, 'edit')} onClick=${() => setEditing(r)} aria-label=${`Edit ${r.name}`}>Edit</button>
                <button type="button" id=${ctl(r, 'up')} disabled=${act.busy || i === 0} onClick=${() => move(i, -1)} aria-label=${`Move ${r.name} up`}>↑</button>
                <button type="button" id=${ctl(r, 'down')} disabled=${act.busy || i === rules.length - 1} onClick=${() => move(i, 1)} aria-label=${`Move ${r.name} down`}>↓</button>
                <button type="button" class="danger" disabled=${act.busy} onClick=${() => remove(r)} aria-label=${`Delete ${r.name}`}>Delete</button>
              </td>
            </tr>`,
          )}
          ${
            rules.length === 0 &&
            html`<tr><td colspan="5" class="muted">${warehouse ? "No warehouse rules: merchants' orders go on as their own rules leave them." : 'No rules: orders are routed as sent.'}</td></tr>`
          }
        </tbody>
      </table>`
    }
    ${
      editing
        ? html`<${RuleForm} key=${`edit-${editing.id}`} owner=${owner} rule=${editing} onDone=${saved} onCancel=${() => setEditing(null)} />`
        : html`<${RuleForm} key="new" owner=${owner} onDone=${saved} />`
    }
    <${Preview} owner=${owner} />
  </section>`;
}
