import { html, useEffect, useRef, useState } from '/console/vendor/preact-htm.js';
import { ApiError } from './api.js';

export { html };

let fieldSeq = 0;

/**
 * A labelled field with its error beside it. `error` comes from the API's details[].path, so a
 * refused form shows each message next to the field it concerns.
 */
export function Field({
  label,
  name,
  value,
  onInput,
  type = 'text',
  error,
  hint,
  required,
  options,
  autocomplete,
  rows,
}) {
  const ref = useRef(null);
  if (!ref.current) ref.current = `f-${name}-${++fieldSeq}`;
  const id = ref.current;
  const describedBy =
    [hint ? `${id}-hint` : '', error ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name,
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': describedBy,
    required,
  };
  const control = options
    ? html`<select ...${common} value=${value} onChange=${(e) => onInput(e.target.value)}>
        ${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
      </select>`
    : rows
      ? html`<textarea ...${common} rows=${rows} spellcheck="false" value=${value ?? ''}
        onInput=${(e) => onInput(e.target.value)}></textarea>`
      : html`<input ...${common} type=${type} value=${value ?? ''} autocomplete=${autocomplete ?? 'off'}
        onInput=${(e) => onInput(e.target.value)} />`;
  return html`<div class=${`field${error ? ' has-error' : ''}`}>
    <div class="label-row">
      <label for=${id}>${label}</label>${required ? html`<span class="req" aria-hidden="true">*</span>` : ''}
    </div>
    ${control}
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    ${error && html`<p class="field-error" id=${`${id}-err`} role="alert">${error}</p>`}
  </div>`;
}

/** Every detail of `error` at `path` or under it, as "path: message" lines (for a JSON field). */
export function errorsUnder(error, path) {
  if (!(error instanceof ApiError)) return undefined;
  const lines = error.details
    .filter((d) => d.path === path || d.path.startsWith(`${path}[`) || d.path.startsWith(`${path}.`))
    .map((d) => (d.path === path ? d.message : `${d.path}: ${d.message}`));
  return lines.length ? lines.join('; ') : undefined;
}

/** The error of a whole action, when no field carries it. */
export function ErrorBanner({ error }) {
  if (!error) return null;
  const fields = error instanceof ApiError ? error.details : [];
  return html`<div class="banner error" role="alert">
    <strong>${error.message}</strong>
    ${
      fields.length > 0 &&
      html`<ul>
      ${fields.map((d) => html`<li><code>${d.path}</code>: ${d.message}</li>`)}
    </ul>`
    }
  </div>`;
}

export function Notice({ children }) {
  return html`<div class="banner ok" role="status">${children}</div>`;
}

/** A read-only value with a copy button (ShipStation's form values). */
export function CopyValue({ label, value, secret }) {
  const [copied, setCopied] = useState(false);
  const inputRef = useRef(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // No clipboard API (plain http): select the text, so Ctrl+C finishes the job.
      inputRef.current?.select();
      document.execCommand?.('copy');
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  const id = `copy-${label.replace(/\W+/g, '-').toLowerCase()}`;
  return html`<div class="copy-row">
    <label for=${id}>${label}</label>
    <input id=${id} ref=${inputRef} readonly value=${value} class=${secret ? 'secret' : ''} />
    <button type="button" onClick=${copy} aria-label=${`Copy ${label}`}>${copied ? 'Copied' : 'Copy'}</button>
  </div>`;
}

/**
 * Loads `load()` and renders `children(data, reload)`; shows loading and errors. Reloads when any
 * of `deps` changes.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ loading: false, data, error: null }),
      (error) => live && setState({ loading: false, data: null, error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Cursor paging: the cursors seen so far, so that "Previous" goes back without the API's help. */
export function usePager(resetKey) {
  const [stack, setStack] = useState([null]);
  useEffect(() => setStack([null]), [resetKey]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    page: stack.length,
    next: (c) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

export function Pager({ pager, nextCursor }) {
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" disabled=${pager.page <= 1} onClick=${pager.prev}>← Previous</button>
    <span>Page ${pager.page}</span>
    <button type="button" disabled=${!nextCursor} onClick=${() => pager.next(nextCursor)}>Next →</button>
  </nav>`;
}

export function Loading() {
  return html`<p class="muted" role="status">Loading…</p>`;
}

export const fmtDate = (s) => (s ? new Date(s).toLocaleString() : '—');

export function Status({ status }) {
  return html`<span class=${`status status-${status}`}>${status}</span>`;
}

/** Runs an action, remembering its error (for ErrorBanner / field errors) and a busy flag. */
export function useAction() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return {
    error,
    busy,
    run,
    setError,
    fieldError: (p) => (error instanceof ApiError ? error.fieldError(p) : undefined),
  };
}

/**
 * A form that saves, then reads its page again with `reload` (a useLoad's). It shows `form(shown)`:
 * what was typed, else `shown` (the record as loaded, or a new one's blank form). `submit(send)` is
 * the form's onSubmit: `send` saves and answers what the form shows next — the record as saved (not
 * as it was until the page is read again), or null for `shown` — and the page is read again;
 * undefined (nothing was sent) changes neither. Errors and the busy flag are useAction's.
 */
export function useSaveForm(reload) {
  const [typed, setForm] = useState(null);
  const action = useAction();
  return {
    ...action,
    setForm,
    form: (shown) => typed ?? shown,
    submit: (send) => (e) => {
      e.preventDefault();
      action.run(async () => {
        const next = await send();
        if (next === undefined) return;
        setForm(next);
        reload();
      });
    },
  };
}

/** The error of a form that no field shows (one the API did not pin on a field). */
export function FormError({ error }) {
  return error && !error.details?.length ? html`<${ErrorBanner} error=${error} />` : null;
}

/** A number field's text as the API's number; text that is no number stays text, so the API names the field. */
export const num = (v) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/** "a, b, c" → ['a','b','c'] (empty → []). */
export const splitList = (s) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export const go = (path) => {
  location.hash = `#/${path}`;
};
