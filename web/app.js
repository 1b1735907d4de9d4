import { render, useEffect, useState } from '/console/vendor/preact-htm.js';
import { ApiError, api, enc, setSession } from './api.js';
import { AlertsPage } from './pages/alerts.js';
import { MerchantSettingsPage, MerchantsPage } from './pages/merchants.js';
import { NoticesPage } from './pages/notices.js';
import { OrderPage, OrdersPage } from './pages/orders.js';
import { RulesPage } from './pages/rules.js';
import { ShipmentsPage } from './pages/shipments.js';
import { SourcePage, SourcesPage } from './pages/sources.js';
import { StorePage, StoresPage } from './pages/stores.js';
import { SummariesPage } from './pages/summaries.js';
import { WebhookPage, WebhooksPage } from './pages/webhooks.js';
import { ErrorBanner, Field, go, html, useAction } from './ui.js';

/** The pages of one merchant, in menu order: a new feature adds an entry here and a module in pages/. */
const MERCHANT_PAGES = [
  { path: 'orders', label: 'Orders', list: OrdersPage, item: OrderPage },
  { path: 'stores', label: 'Stores', list: StoresPage, item: StorePage },
  { path: 'sources', label: 'Sources', list: SourcesPage, item: SourcePage },
  { path: 'shipments', label: 'Shipments', list: ShipmentsPage },
  { path: 'notices', label: 'Unmatched notices', list: NoticesPage },
  { path: 'alerts', label: 'Alerts', list: AlertsPage },
  { path: 'rules', label: 'Rules', list: RulesPage },
  { path: 'webhooks', label: 'Webhooks', list: WebhooksPage, item: WebhookPage },
  { path: 'summaries', label: 'Summaries', list: SummariesPage },
  { path: 'settings', label: 'Settings', list: MerchantSettingsPage },
];

/**
 * The pages of a warehouse itself (#/w/{warehouse}/…): what it owns for all its merchants. They
 * are the merchant's pages with the warehouse as owner, not copies.
 */
const WAREHOUSE_PAGES = [
  { path: 'rules', label: 'Rules', list: RulesPage },
  { path: 'webhooks', label: 'Webhooks', list: WebhooksPage, item: WebhookPage },
  { path: 'summaries', label: 'Summaries', list: SummariesPage },
];

/** '#/m/acme/orders/12?status=new' → { parts: ['m','acme','orders','12'], params }; '#/w/acme-3pl/rules' alike. */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q] = raw.split('?');
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(q ?? ''),
  };
}

function SignIn({ onSignedIn }) {
  const [mode, setMode] = useState('credential');
  const [form, setForm] = useState({ api_user: '', api_key: '', admin_token: '' });
  const action = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const submit = (e) => {
    e.preventDefault();
    action.run(async () => {
      const body =
        mode === 'admin'
          ? { admin_token: form.admin_token }
          : { api_user: form.api_user, api_key: form.api_key };
      onSignedIn(await api.post('/console/api/session', body));
    });
  };
  const general = action.error && !(action.error instanceof ApiError && action.error.details.length > 0);
  return html`<main class="signin" id="main">
    <h1>shipbridge console</h1>
    <form onSubmit=${submit} novalidate aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in</h2>
      <fieldset class="choice">
        <legend>Sign in with</legend>
        <label><input type="radio" name="mode" checked=${mode === 'credential'} onChange=${() => setMode('credential')} /> an API credential</label>
        <label><input type="radio" name="mode" checked=${mode === 'admin'} onChange=${() => setMode('admin')} /> the admin token</label>
      </fieldset>
      ${
        mode === 'credential'
          ? html`<${Field} label="API user" name="api_user" value=${form.api_user} onInput=${set('api_user')}
                error=${action.fieldError('api_user')} autocomplete="username" required />
              <${Field} label="API key" name="api_key" type="password" value=${form.api_key} onInput=${set('api_key')}
                error=${action.fieldError('api_key')} autocomplete="current-password" required />`
          : html`<${Field} label="Admin token" name="admin_token" type="password" value=${form.admin_token}
                onInput=${set('admin_token')} error=${action.fieldError('admin_token')} autocomplete="current-password" required />`
      }
      ${general && html`<${ErrorBanner} error=${action.error} />`}
      <button type="submit" class="primary" disabled=${action.busy}>Sign in</button>
    </form>
  </main>`;
}

/** The page a route names, with its owner; null when the route names none. */
function pageOf(parts, pages, kind) {
  const section = pages.find((p) => p.path === parts[2]) ?? pages[0];
  const id = parts[3];
  return {
    section,
    id,
    Page: id && section.item ? section.item : section.list,
    owner: { kind, code: parts[1] },
  };
}

function Shell({ session, onSignOut, route }) {
  const user = session.user;
  const fixedMerchant = user.kind === 'merchant' ? user.merchant : null;
  const [merchants, setMerchants] = useState(fixedMerchant ? [{ code: fixedMerchant }] : null);
  const [merchantsChanged, setMerchantsChanged] = useState(0);
  useEffect(() => {
    const bump = () => setMerchantsChanged((n) => n + 1);
    window.addEventListener('merchants-changed', bump);
    return () => window.removeEventListener('merchants-changed', bump);
  }, []);
  const { parts } = route;
  const onWarehouse = parts[0] === 'w' && parts[1] && !fixedMerchant;
  const merchant = parts[0] === 'm' ? parts[1] : fixedMerchant;
  useEffect(() => {
    if (fixedMerchant) return;
    api.get('/v1/merchants?limit=500').then(
      (r) => setMerchants(r.merchants),
      () => setMerchants([]),
    );
    // Again on every page change: a merchant created on the merchants page appears in the picker.
  }, [fixedMerchant, route.parts.join('/'), merchantsChanged]);
  // The warehouse whose own pages the menu offers: the signed-in warehouse; for the operator, the
  // one being looked at, or the chosen merchant's.
  const warehouse =
    user.kind === 'warehouse'
      ? user.warehouse
      : onWarehouse
        ? parts[1]
        : (merchants?.find((m) => m.code === merchant)?.warehouse ?? null);

  let page;
  let current;
  if (parts[0] === 'merchants' && !fixedMerchant) {
    page = html`<${MerchantsPage} user=${user} />`;
    current = 'merchants';
  } else if (onWarehouse) {
    const { section, id, Page, owner } = pageOf(parts, WAREHOUSE_PAGES, 'warehouse');
    page = html`<${Page} key=${`w/${owner.code}/${section.path}/${id ?? ''}`} owner=${owner} id=${id} route=${route} user=${user} />`;
    current = `w:${section.path}`;
  } else if (merchant) {
    const p = pageOf(parts[0] === 'm' ? parts : ['m', merchant], MERCHANT_PAGES, 'merchant');
    page = html`<${p.Page} key=${`${merchant}/${p.section.path}/${p.id ?? ''}`} merchant=${merchant} owner=${{ kind: 'merchant', code: merchant }}
      id=${p.id} route=${route} user=${user} />`;
    current = p.section.path;
  } else {
    page = html`<${MerchantsPage} user=${user} />`;
    current = 'merchants';
  }
  const link = (href, label, here, name) =>
    html`<li><a href=${href} aria-current=${here ? 'page' : undefined} aria-label=${name}>${label}</a></li>`;

  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>Skip to content</a>
    <header class="top">
      <span class="brand">shipbridge</span>
      ${
        !fixedMerchant &&
        html`<nav aria-label=${warehouse ? `Warehouse ${warehouse}` : 'Accounts'} class="group">
          ${warehouse && html`<span class="group-label" aria-hidden="true">${user.kind === 'admin' ? `Warehouse ${warehouse}` : 'Warehouse'}</span>`}
          <ul class="menu">
            ${link('#/merchants', 'Merchants', current === 'merchants')}
            ${
              warehouse &&
              WAREHOUSE_PAGES.map((p) =>
                link(
                  `#/w/${enc(warehouse)}/${p.path}`,
                  p.label,
                  current === `w:${p.path}`,
                  `Warehouse ${p.label.toLowerCase()}`,
                ),
              )
            }
          </ul>
        </nav>`
      }
      <span class="who">${user.kind === 'admin' ? 'operator (admin)' : `${user.kind} ${user.warehouse ?? user.merchant}`}</span>
      <button type="button" onClick=${onSignOut}>Sign out</button>
    </header>
    ${
      (merchant || (merchants && merchants.length > 0)) &&
      html`<div class="sub">
        ${
          !fixedMerchant &&
          merchants &&
          merchants.length > 0 &&
          html`<div class="merchant-pick"><label for="merchant-pick">Merchant</label>
            <select id="merchant-pick" value=${merchant ?? ''} onChange=${(e) => e.target.value && go(`m/${enc(e.target.value)}/${MERCHANT_PAGES.some((p) => p.path === current) ? current : 'orders'}`)}>
              <option value="">— choose —</option>
              ${merchants.map((m) => html`<option value=${m.code}>${m.code}</option>`)}
            </select>
          </div>`
        }
        ${
          merchant &&
          html`<nav aria-label=${`Merchant ${merchant}`}>
            <ul class="menu">
              ${MERCHANT_PAGES.map((p) => link(`#/m/${enc(merchant)}/${p.path}`, p.label, current === p.path))}
            </ul>
          </nav>`
        }
      </div>`
    }
    <main id="main" tabindex="-1">${page}</main>
  </div>`;
}

function App() {
  const [session, setSessionState] = useState(undefined);
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const onHash = () => setRoute(parseHash());
    window.addEventListener('hashchange', onHash);
    const signedOut = () => {
      setSession(null);
      setSessionState(null);
    };
    api.get('/console/api/session').then(
      (s) => {
        setSession(s, signedOut);
        setSessionState(s);
      },
      () => {
        setSession(null, signedOut);
        setSessionState(null);
      },
    );
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    const named = route.parts.filter((_p, i) => i !== 0 || !['m', 'w'].includes(route.parts[0]));
    document.title = `shipbridge console${named.length ? ` — ${named.join(' / ')}` : ''}`;
  }, [route]);

  if (session === undefined) return html`<p class="muted">Loading…</p>`;
  if (session === null) {
    return html`<${SignIn}
      onSignedIn=${(s) => {
        setSession(s);
        setSessionState(s);
      }}
    />`;
  }
  const signOut = async () => {
    try {
      await api.del('/console/api/session');
    } finally {
      setSession(null);
      setSessionState(null);
      go('');
    }
  };
  return html`<${Shell} session=${session} route=${route} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById('app'));
