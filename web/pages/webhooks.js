import { api, ownerHref, ownerUrl, query } from '../api.js';
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
  Status,
  useAction,
  useLoad,
  usePager,
  useSaveForm,
} from '../ui.js';
import { useState } from '/console/vendor/preact-htm.js';

// One page for both owners: a merchant's webhooks and a warehouse's (events of all its merchants).
const base = (owner) => ownerUrl(owner, '/webhooks');

// The event types a webhook can take, as the API answers them (it refuses any other).
const loadEventTypes = () => api.get('/v1/webhook-event-types');

/** A delivery's order: a link for a merchant's webhook; a warehouse's deliveries do not say whose order it is. */
function OrderRef({ owner, id }) {
  return owner.kind === 'merchant'
    ? html`<a href=${ownerHref(owner, `/orders/${id}`)}>order ${id}</a>`
    : html`<span>order ${id}</span>`;
}

/** Every attempt of a delivery, with the receiver's answer, folded under the count. */
function Attempts({ d }) {
  if (!d.attempt_log?.length) return html`${d.attempts}`;
  return html`<details>
    <summary>${d.attempts}</summary>
    <ol class="attempts">
      ${d.attempt_log.map(
        (a) => html`<li>
          <time datetime=${a.at}>${fmtDate(a.at)}</time>: ${a.error ?? (a.status_code === null ? 'no answer' : `answered ${a.status_code}`)}
          (${a.duration_ms} ms)${a.response_body ? html` <code class="data">${a.response_body}</code>` : ''}
        </li>`,
      )}
    </ol>
  </details>`;
}

function Secret({ secret, what }) {
  return html`<${Notice}>
    <p>${what} Keep it to verify the <code>webhook-signature</code> header: it is shown only now.</p>
    <${CopyValue} label="Signing secret" value=${secret} secret />
  </${Notice}>`;
}

export function WebhooksPage({ owner }) {
  const list = useLoad(() => api.get(base(owner)), [owner.kind, owner.code]);
  const types = useLoad(loadEventTypes, []);
  const [created, setCreated] = useState(null);
  const action = useSaveForm(list.reload);
  const form = action.form({ url: '', events: [], description: '' });
  const setForm = action.setForm;
  const toggle = (ev) => (e) =>
    setForm({
      ...form,
      events: e.target.checked ? [...form.events, ev] : form.events.filter((x) => x !== ev),
    });
  const submit = action.submit(async () => {
    const body = { url: form.url, events: form.events };
    if (form.description) body.description = form.description;
    setCreated(await api.post(base(owner), body));
    return null;
  });
  const eventsErr = action.fieldError('events');
  return html`<section aria-labelledby="webhooks-h">
    <h1 id="webhooks-h">${owner.kind === 'warehouse' ? 'Warehouse webhooks' : 'Webhooks'} <span class="muted">${owner.code}</span></h1>
    ${owner.kind === 'warehouse' && html`<p class="hint">These receive the events of every merchant of the warehouse; each event's body names its merchant.</p>`}
    ${list.loading && html`<${Loading} />`}
    <${ErrorBanner} error=${list.error} />
    ${
      list.data &&
      html`<table class="list">
        <caption class="sr-only">Webhooks</caption>
        <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">State</th><th scope="col">Last success</th></tr></thead>
        <tbody>
          ${list.data.webhooks.map(
            (w) => html`<tr>
              <td><a href=${ownerHref(owner, `/webhooks/${w.id}`)}>${w.url}</a>${w.description ? html` <span class="muted">${w.description}</span>` : ''}</td>
              <td>${w.events.join(', ')}</td>
              <td>${w.enabled ? (w.failing_since ? `failing since ${fmtDate(w.failing_since)}` : 'enabled') : `disabled${w.disabled_reason ? ` (${w.disabled_reason})` : ''}`}</td>
              <td>${fmtDate(w.last_success_at)}</td>
            </tr>`,
          )}
          ${list.data.webhooks.length === 0 && html`<tr><td colspan="4" class="muted">No webhooks.</td></tr>`}
        </tbody>
      </table>`
    }
    ${
      created &&
      html`<${Secret} secret=${created.secret}
        what=${html`Webhook <a href=${ownerHref(owner, `/webhooks/${created.webhook.id}`)}>${created.webhook.url}</a> created.`} />`
    }
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="new-webhook-h">
      <h2 id="new-webhook-h">New webhook</h2>
      <${Field} label="URL" name="url" type="url" value=${form.url} onInput=${(v) => setForm({ ...form, url: v })}
        error=${action.fieldError('url')} hint="https; receives signed POSTs" required />
      <fieldset class=${`choice${eventsErr ? ' has-error' : ''}`} aria-describedby=${eventsErr ? 'events-err' : undefined}>
        <legend>Events</legend>
        ${types.loading && html`<${Loading} />`}
        <${ErrorBanner} error=${types.error} />
        ${types.data?.event_types.map(
          (ev) =>
            html`<label title=${ev.description}><input type="checkbox" checked=${form.events.includes(ev.type)} onChange=${toggle(ev.type)} /> ${ev.type}</label>`,
        )}
        ${eventsErr && html`<p class="field-error" id="events-err" role="alert">${eventsErr}</p>`}
      </fieldset>
      <${Field} label="Description" name="description" value=${form.description}
        onInput=${(v) => setForm({ ...form, description: v })} error=${action.fieldError('description')} />
      <${FormError} error=${action.error} />
      <button type="submit" class="primary" disabled=${action.busy}>Create webhook</button>
    </form>
  </section>`;
}

export function WebhookPage({ owner, id }) {
  const url = `${base(owner)}/${encodeURIComponent(id)}`;
  const data = useLoad(() => api.get(url), [url]);
  const pager = usePager(url);
  const deliveries = useLoad(
    () => api.get(`${url}/deliveries${query({ limit: 25, cursor: pager.cursor })}`),
    [url, pager.cursor],
  );
  const [secret, setSecret] = useState(null);
  const [test, setTest] = useState(null);
  const [done, setDone] = useState(null);
  const act = useAction();
  if (data.loading && !data.data) return html`<${Loading} />`;
  if (data.error) return html`<${ErrorBanner} error=${data.error} />`;
  const w = data.data.webhook;
  const setEnabled = (enabled) =>
    act.run(async () => {
      await api.patch(url, { enabled });
      setDone(enabled ? 'Webhook enabled.' : 'Webhook disabled.');
      data.reload();
    });
  const rotate = () =>
    act.run(async () => {
      if (!confirm('Issue a new secret? For 24 hours the old one signs too.')) return;
      setSecret((await api.post(`${url}/rotate-secret`)).secret);
      data.reload();
    });
  const remove = () =>
    act.run(async () => {
      if (!confirm('Delete this webhook and its delivery log?')) return;
      await api.del(url);
      location.hash = ownerHref(owner, '/webhooks');
    });
  const ping = () =>
    act.run(async () => {
      setTest(await api.post(`${url}/test`));
      deliveries.reload();
    });
  const retry = (d) =>
    act.run(async () => {
      await api.post(`${url}/deliveries/${d.id}/retry`);
      setDone(`Delivery ${d.id} will be sent again now.`);
      deliveries.reload();
    });
  return html`<section aria-labelledby="webhook-h">
    <p><a href=${ownerHref(owner, '/webhooks')}>← Webhooks</a></p>
    <h1 id="webhook-h">${w.url} ${!w.enabled && html`<span class="status status-canceled">disabled</span>`}</h1>
    ${done && html`<${Notice}>${done}</${Notice}>`}
    ${secret && html`<${Secret} secret=${secret} what="New secret issued; the previous one also signs for 24 hours." />`}
    <section class="card" aria-labelledby="wh-facts-h">
      <h2 id="wh-facts-h">Settings</h2>
      <dl class="facts">
        <dt>Events</dt><dd>${w.events.join(', ')}</dd>
        <dt>Description</dt><dd>${w.description ?? '—'}</dd>
        <dt>State</dt><dd>${w.enabled ? 'enabled' : `disabled${w.disabled_reason ? ` (${w.disabled_reason})` : ''}`}</dd>
        <dt>Last success</dt><dd>${fmtDate(w.last_success_at)}</dd>
        <dt>Failing since</dt><dd>${fmtDate(w.failing_since)}</dd>
        <dt>Previous secret signs until</dt><dd>${fmtDate(w.previous_secret_expires_at)}</dd>
      </dl>
      <div class="actions">
        <button type="button" onClick=${ping} disabled=${act.busy}>Send test ping</button>
        <button type="button" onClick=${() => setEnabled(!w.enabled)} disabled=${act.busy}>${w.enabled ? 'Disable' : 'Enable'}</button>
        <button type="button" onClick=${rotate} disabled=${act.busy}>Rotate secret</button>
        <button type="button" class="danger" onClick=${remove} disabled=${act.busy}>Delete</button>
      </div>
      <${ErrorBanner} error=${act.error} />
      ${
        test &&
        html`<div class=${`banner ${test.delivered ? 'ok' : 'error'}`} role="status">
          <strong>${test.delivered ? 'Ping delivered:' : 'Ping not delivered:'}</strong>${' '}
          ${test.status_code === null ? 'no answer' : `answered ${test.status_code}`} in ${test.duration_ms} ms${test.error ? ` — ${test.error}` : ''}.
        </div>`
      }
    </section>
    <section aria-labelledby="deliveries-h">
      <h2 id="deliveries-h">Deliveries</h2>
      <${ErrorBanner} error=${deliveries.error} />
      ${deliveries.loading && html`<${Loading} />`}
      ${
        deliveries.data &&
        html`<table class="list">
          <caption class="sr-only">Deliveries, newest first</caption>
          <thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Next attempt</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            ${deliveries.data.deliveries.map(
              (d) => html`<tr>
                <td>${fmtDate(d.created_at)}</td>
                <td><code>${d.type}</code>${d.order_id ? html` <${OrderRef} owner=${owner} id=${d.order_id} />` : ''}</td>
                <td><${Status} status=${d.status} /></td>
                <td><${Attempts} d=${d} /></td>
                <td>${d.last_error ?? d.last_status_code ?? '—'}${d.last_duration_ms !== null ? ` (${d.last_duration_ms} ms)` : ''}</td>
                <td>${fmtDate(d.next_attempt_at)}</td>
                <td>${
                  d.status !== 'succeeded' &&
                  html`<button type="button" onClick=${() => retry(d)} disabled=${act.busy} aria-label=${`Retry delivery ${d.id}`}>Retry</button>`
                }</td>
              </tr>`,
            )}
            ${deliveries.data.deliveries.length === 0 && html`<tr><td colspan="7" class="muted">Nothing delivered yet.</td></tr>`}
          </tbody>
        </table>
        <${Pager} pager=${pager} nextCursor=${deliveries.data.next_cursor} />`
      }
    </section>
  </section>`;
}
