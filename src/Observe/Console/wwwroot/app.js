// The console's core: API calls with the operator's bearer token, the text-only DOM helper, routing and the refresh loop.
// Every value from the server is set with textContent (never innerHTML), so plugin output, log lines and names are inert.
import { problemsPage } from './problems.js';
import { checksPage, checkPage } from './checks.js';
import { alertsPage } from './alerts.js';
import { deploysPage } from './deploys.js';
import { logsPage } from './logs.js';
import { metricsPage } from './metrics.js';

const TOKEN_KEY = 'observe.token';
export const session = { whoami: null, lostSince: null };

/** Builds an element; children that are strings become text nodes. props: attributes, plus on* handlers. */
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** One API request; a failed connection marks the server lost (shown in the banner) until a request succeeds again. */
export async function api(path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method: options.method || 'GET', headers, credentials: 'omit', cache: 'no-store',
      body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  } catch (e) {
    setLost(true);
    throw new ApiError(0, 'cannot reach the server');
  }
  setLost(false);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || res.status + ' ' + res.statusText);
  return data;
}

function setLost(lost) {
  const banner = document.getElementById('lost');
  if (lost && !session.lostSince) session.lostSince = new Date();
  if (!lost) session.lostSince = null;
  banner.hidden = !lost;
  banner.textContent = lost ? `Lost the server since ${session.lostSince.toLocaleTimeString()}: retrying…` : '';
}

/** True when the current token may do what `scope` allows (admin may do everything). */
export function can(scope) {
  const s = session.whoami?.scopes || [];
  return s.includes(scope) || s.includes('admin');
}

/** Why actions are hidden, for the page to say instead of showing buttons that would fail. */
export function whyCannot(scope) {
  const w = session.whoami;
  if (!w?.authenticated) return `Actions need a token with the '${scope}' scope.`;
  return `Token '${w.name}' lacks the '${scope}' scope: actions are hidden.`;
}

export function feature(name) { return !!session.whoami?.features?.[name]; }

/** "3m 12s" since an ISO time. */
export function age(iso, now = Date.now()) {
  if (!iso) return '';
  let s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

export function time(iso) { return iso ? new Date(iso).toLocaleString() : ''; }

export function stateBadge(state) {
  const s = String(state || 'unknown').toLowerCase();
  return el('span', { class: 'badge s-' + s }, s.toUpperCase());
}

/** Shows an error (or a success note) in a live region. */
export function note(target, message, ok = false) {
  target.replaceChildren(el('p', { class: ok ? 'ok-note' : 'error', role: ok ? 'status' : 'alert' }, message));
}

// ---- token sign-in ---------------------------------------------------------------------------------------------------

function tokenForm(main, reason) {
  const input = el('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const msg = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'card signin', onsubmit: async ev => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      await start();
    } },
    el('h1', {}, 'Sign in'),
    el('p', {}, reason),
    el('label', { for: 'token' }, 'API token'),
    input,
    el('p', { class: 'hint' }, 'Kept in this tab only (sessionStorage) and sent as a bearer header; never a cookie.'),
    el('button', { type: 'submit' }, 'Use token'),
    msg);
  main.replaceChildren(form);
  input.focus();
}

// ---- routing and refresh ------------------------------------------------------------------------------------------------

let stopPage = null;

function route() {
  const main = document.getElementById('main');
  if (stopPage) { stopPage(); stopPage = null; }
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let page = 'problems';
  if (parts[0] === 'checks') { page = 'checks'; stopPage = checksPage(main, params); }
  else if (parts[0] === 'alerts' && feature('alerting')) { page = 'alerts'; stopPage = alertsPage(main); }
  else if (parts[0] === 'deploys' && feature('deploys')) { page = 'deploys'; stopPage = deploysPage(main, params); }
  else if (parts[0] === 'logs' && feature('logs')) { page = 'logs'; stopPage = logsPage(main, params); }
  else if (parts[0] === 'metrics') { page = 'metrics'; stopPage = metricsPage(main, params); }
  else if (parts[0] === 'check' && parts.length === 3) { page = 'checks'; stopPage = checkPage(main, parts[1], parts[2]); }
  else stopPage = problemsPage(main);
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

/** Runs `refresh` now and every `ms` while the page is shown; returns the stop function the router calls. */
export function every(ms, refresh) {
  let timer = null, stopped = false;
  const tick = async () => {
    try { await refresh(); } catch (e) { if (!(e instanceof ApiError)) console.warn(e); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

async function start() {
  const main = document.getElementById('main');
  let who;
  try { who = await api('/api/whoami'); }
  catch (e) { note(main, 'Cannot reach Observe: ' + e.message); setTimeout(start, 3000); return; }
  const hadToken = !!sessionStorage.getItem(TOKEN_KEY);
  if (hadToken && !who.authenticated) {
    sessionStorage.removeItem(TOKEN_KEY);
    tokenForm(main, 'That token was not accepted. Paste a token from auth.tokens.');
    return;
  }
  if (who.readRequiresToken && !who.authenticated) {
    tokenForm(main, 'This Observe requires a token to read (auth.readRequiresToken).');
    return;
  }
  session.whoami = who;
  document.getElementById('who').textContent = who.authenticated ? `${who.name} (${who.scopes.join(', ')})`
    : who.authEnabled ? 'read-only (no token)' : '';
  for (const a of document.querySelectorAll('nav a[data-feature]')) a.hidden = !feature(a.dataset.feature);
  const button = document.getElementById('signout');
  button.hidden = !who.authEnabled;
  button.textContent = who.authenticated ? 'Forget token' : 'Use a token';
  if (!window.__routed) { window.addEventListener('hashchange', route); window.__routed = true; }
  route();
}

document.getElementById('signout').addEventListener('click', () => {
  if (stopPage) { stopPage(); stopPage = null; }
  if (session.whoami?.authenticated) { sessionStorage.removeItem(TOKEN_KEY); start(); }
  else tokenForm(document.getElementById('main'), 'Paste a token from auth.tokens to act (acknowledge, downtime, silence).');
});
start();
