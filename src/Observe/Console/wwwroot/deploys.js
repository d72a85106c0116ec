// Deploys: per service and environment, the timeline with who, version, verdict and the explanation; the SLIs around a
// deploy with its markers; environment locks with lock/unlock.
import { el, api, age, time, every, can, whyCannot, note, session } from './app.js';
import { lineChart } from './chart.js';

const REFRESH_MS = 5000;
const fmt = v => v === null || v === undefined ? '–' : typeof v === 'number' ? Number(v.toPrecision(4)).toString() : String(v);
const unix = iso => Math.floor(Date.parse(iso) / 1000);

export function deploysPage(main, params) {
  const f = { service: params.get('service') || '', env: params.get('env') || '' };
  const result = el('div', { 'aria-live': 'polite' });
  const list = el('section', { 'aria-labelledby': 'h-deploys' });
  const locks = el('section', { 'aria-labelledby': 'h-locks' });
  const open = new Set(params.get('open') ? [params.get('open')] : []);
  const input = (id, label, key) => [el('label', { for: id }, label), el('input', { id, type: 'search', value: f[key],
    onchange: ev => { f[key] = ev.target.value.trim(); history.replaceState(null, '', '#/deploys?' + new URLSearchParams(Object.entries(f).filter(([, v]) => v))); refresh(); } })];
  main.replaceChildren(el('h1', {}, 'Deploys'),
    el('form', { class: 'filters', role: 'search', onsubmit: ev => ev.preventDefault() }, ...input('f-service', 'Service', 'service'), ...input('f-env', 'Environment', 'env')),
    result, list, locks);
  const author = () => session.whoami?.name ? undefined : (sessionStorage.getItem('observe.author') || 'console');

  async function act(promise, done) {
    try { await promise; note(result, done, true); await refresh(); }
    catch (e) { note(result, `${done.replace(/\.$/, '')} failed: ${e.message}`); }
  }

  function explanation(d) {
    const v = d.verification;
    const parts = [];
    if (d.description) parts.push(el('p', {}, d.description));
    if (d.revision || d.branch) parts.push(el('p', { class: 'hint' }, `revision ${d.revision ?? '–'} on ${d.branch ?? '–'}`));
    if (v) {
      parts.push(el('p', {}, `Verdict ${v.verdict}: ${v.reason} (evaluated ${time(v.evaluatedAt)})`));
      if ((v.slis || []).length) parts.push(el('div', { class: 'table-wrap' }, el('table', { class: 'slis' },
        el('thead', {}, el('tr', {}, ...['SLI', 'Target', 'Baseline median', 'After median', 'Ratio', 'Max ratio', 'p', 'Verdict', 'Why'].map(h => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, v.slis.map(s => el('tr', {}, el('td', {}, s.name), el('td', { class: 'output' }, s.target),
          el('td', {}, `${fmt(s.baselineMedian)} (${s.baselinePoints} pts)`), el('td', {}, `${fmt(s.postMedian)} (${s.postPoints} pts)`),
          el('td', {}, fmt(s.ratio)), el('td', {}, fmt(s.maxRatio)), el('td', {}, fmt(s.pValue)),
          el('td', {}, el('span', { class: 'verdict v-' + s.verdict }, s.verdict)), el('td', {}, s.reason)))))));
      for (const c of v.checks || []) parts.push(el('p', { class: c.failed ? 'error' : '' }, `check ${c.check}: ${c.state} ${c.stateType ?? ''} ${c.output ?? ''}`));
    } else parts.push(el('p', { class: 'hint' }, 'Not verified yet.'));
    if (d.rollback) parts.push(el('p', {}, `Rollback (${d.rollback.action}) to ${d.rollback.goodVersion ?? '?'}: ${d.rollback.succeeded ? 'succeeded' : 'failed'} ${d.rollback.error ?? ''}`),
      el('pre', { class: 'output' }, d.rollback.output || ''));
    if (d.failReason) parts.push(el('p', { class: 'error' }, d.failReason));
    const chart = el('div', { class: 'deploy-chart' }, el('p', { class: 'hint' }, 'Loading the SLIs…'));
    parts.push(chart);
    drawChart(chart, d);
    return parts;
  }

  // The SLIs from the baseline's start to now (or the window's end), with the deploy's start, finish and end marked.
  async function drawChart(target, d) {
    const slis = d.verification?.slis || [];
    if (slis.length === 0) { target.replaceChildren(el('p', { class: 'hint' }, 'No SLIs declared for this service.')); return; }
    const v = d.verification;
    const from = Math.min(v.baselineFrom, unix(d.startedAt)) - 60;
    const until = Math.max(v.postUntil, unix(d.endedAt || d.startedAt)) + 60;
    const q = new URLSearchParams({ from: String(from), until: String(until), format: 'json' });
    for (const s of slis) q.append('target', s.target);
    try {
      const series = await api('/render?' + q);
      const markers = [{ at: unix(d.startedAt), label: `deploy ${d.version}`, colour: '#0b57d0' }];
      if (d.finishedAt) markers.push({ at: unix(d.finishedAt), label: 'finished', colour: '#555' });
      if (d.rollback) markers.push({ at: unix(d.rollback.startedAt), label: 'rolled back', colour: '#c62828' });
      target.replaceChildren(lineChart(series, markers, { title: `SLIs around ${d.service} ${d.version}` }));
    } catch (e) { target.replaceChildren(el('p', { class: 'error' }, 'Could not read the SLIs: ' + e.message)); }
  }

  function drawDeploys(deploys) {
    list.replaceChildren(el('h2', { id: 'h-deploys' }, 'Timeline'), deploys.length === 0 ? el('p', { class: 'hint' }, 'No deploys.') :
      el('ul', { class: 'deploys' }, deploys.map(d => {
        const verdict = d.verification?.verdict || '';
        const details = el('details', { 'data-id': d.id, open: open.has(d.id), ontoggle: ev => {
            if (ev.target.open) { open.add(d.id); if (!ev.target.dataset.filled) { ev.target.dataset.filled = '1'; ev.target.append(...explanation(d)); } }
            else open.delete(d.id);
          } },
          el('summary', {}, el('span', { class: 'verdict v-' + verdict }, verdict || String(d.state)), ' ',
            el('strong', {}, `${d.service} ${d.version}`), ` to ${d.env} by ${d.by}, ${age(d.startedAt)} ago (${d.state})`,
            d.rollbackOf ? el('span', { class: 'tag' }, 'rollback') : null));
        if (details.open) { details.dataset.filled = '1'; details.append(...explanation(d)); }
        return el('li', {}, details);
      })));
  }

  function drawLocks(current) {
    const parts = [el('h2', { id: 'h-locks' }, 'Environment locks')];
    parts.push(current.length === 0 ? el('p', { class: 'hint' }, 'No environment is locked.') : el('ul', { id: 'locks' }, current.map(l => el('li', { 'data-env': l.env },
      el('strong', {}, l.env), ` locked by ${l.by} ${age(l.since)} ago: ${l.reason} `,
      can('deploy') ? el('button', { type: 'button', class: 'unlock', onclick: () =>
        act(api('/api/locks/' + encodeURIComponent(l.env) + (author() ? '?by=' + encodeURIComponent(author()) : ''), { method: 'DELETE' }), `Unlocked ${l.env}.`) }, 'Unlock') : null))));
    locks.replaceChildren(...parts, lockForm);
  }

  const lEnv = el('input', { id: 'lock-env', type: 'text', required: true });
  const lReason = el('input', { id: 'lock-reason', type: 'text', required: true });
  const lockForm = can('deploy') ? el('form', { class: 'card', id: 'lock-form', onsubmit: ev => { ev.preventDefault();
      act(api('/api/locks', { method: 'POST', body: { env: lEnv.value.trim(), reason: lReason.value, by: author() } }), `Locked ${lEnv.value.trim()}.`); } },
    el('h3', {}, 'Lock an environment'), el('label', { for: 'lock-env' }, 'Environment'), lEnv,
    el('label', { for: 'lock-reason' }, 'Reason'), lReason, el('button', { type: 'submit' }, 'Lock'))
    : el('p', { class: 'hint', id: 'no-actions' }, whyCannot('deploy'));

  let shown = '';
  async function refresh() {
    const q = new URLSearchParams({ limit: '50' });
    if (f.service) q.set('service', f.service);
    if (f.env) q.set('env', f.env);
    const [deploys, current] = await Promise.all([api('/api/deploys?' + q), api('/api/locks')]);
    // Redrawn only when something changed, so an expanded explanation and its chart are not rebuilt every 5 s.
    const key = JSON.stringify(deploys);
    if (key !== shown) { shown = key; drawDeploys(deploys); }
    drawLocks(current);
  }
  return every(REFRESH_MS, refresh);
}
