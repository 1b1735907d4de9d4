// The console's only way to the service: /v1 with the session cookie (sent by the browser, never
// readable here) and the session's CSRF token in a header. Errors keep the API's shape.

let csrfToken = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? { code: 'internal', message: `HTTP ${status}` };
    super(e.message);
    this.status = status;
    this.code = e.code;
    this.details = e.details ?? [];
  }
  /** The message of the detail whose path is this field (or starts with it), if any. */
  fieldError(path) {
    const d = this.details.find(
      (x) => x.path === path || x.path.startsWith(`${path}[`) || x.path.startsWith(`${path}.`),
    );
    return d?.message;
  }
}

export function setSession(session, signedOut) {
  csrfToken = session?.csrf_token ?? null;
  if (signedOut) onSignedOut = signedOut;
}

async function send(method, url, body, accept = 'application/json') {
  const headers = { accept };
  if (csrfToken) headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  const parsed = isJson && text ? JSON.parse(text) : text;
  if (!res.ok) {
    const err = new ApiError(res.status, isJson ? parsed : null);
    if (res.status === 401 && url.startsWith('/v1/')) onSignedOut();
    throw err;
  }
  return parsed;
}

export const api = {
  get: (url) => send('GET', url),
  getText: (url, accept) => send('GET', url, undefined, accept),
  post: (url, body = {}) => send('POST', url, body),
  patch: (url, body) => send('PATCH', url, body),
  put: (url, body) => send('PUT', url, body),
  del: (url) => send('DELETE', url),
};

/**
 * Saves a GET answer as a file: fetched here (the session's CSRF header is needed, a plain link
 * cannot send it), then handed to the browser as a blob link, which the CSP allows (no script).
 */
export async function download(url, accept, filename) {
  const text = await send('GET', url, undefined, accept);
  const href = URL.createObjectURL(new Blob([text], { type: accept }));
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** A query string from the filled-in values only. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;

/**
 * Rules, webhooks and summaries have the same routes under a merchant and under a warehouse (for
 * all its merchants); a page of them takes its owner, { kind: 'merchant' | 'warehouse', code }.
 */
export const ownerUrl = (owner, rest = '') => `/v1/${owner.kind}s/${enc(owner.code)}${rest}`;

/** The console's own link to an owner's page: '#/m/{merchant}/…' or '#/w/{warehouse}/…'. */
export const ownerHref = (owner, rest = '') =>
  `#/${owner.kind === 'warehouse' ? 'w' : 'm'}/${enc(owner.code)}${rest}`;
