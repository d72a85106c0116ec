// Checks: the host × check grid with filters (kept in the URL), and one check's page with its actions.
import { el, api, age, time, stateBadge, feature, every, can, whyCannot, note, session } from './app.js';
import { lineChart } from './chart.js';

const REFRESH_MS = 5000;

export function checksPage(main, params) {
  if (!feature('checks')) { main.replaceChildren(el('h1', {}, 'Checks'), el('p', {}, 'Checks are not enabled.')); return null; }
  const f = { state: params.get('state') || '', host: params.get('host') || '', text: params.get('q') || '', label: params.get('label') || '' };
  const input = (id, label, value, key, type = 'search') => [el('label', { for: id }, label),
    el('input', { id, type, value, oninput: ev => { f[key] = ev.target.value; sync(); draw(); } })];
  const stateSelect = el('select', { id: 'f-state', onchange: ev => { f.state = ev.target.value; sync(); draw(); } },
    ['', 'problems', 'critical', 'warning', 'unknown', 'ok'].map(s => el('option', { value: s, selected: s === f.state }, s || 'any')));
  const filters = el('form', { class: 'filters', role: 'search', onsubmit: ev => ev.preventDefault() },
    el('label', { for: 'f-state' }, 'State'), stateSelect,
    ...input('f-host', 'Host', f.host, 'host'), ...input('f-label', 'Label (k=v)', f.label, 'label'), ...input('f-text', 'Text', f.text, 'text'));
  const grid = el('div');
  main.replaceChildren(el('h1', {}, 'Checks'), filters, grid);
  let all = null;
  // The filters live in the URL so a filtered view can be shared; replaceState does not re-route.
  function sync() {
    const q = new URLSearchParams();
    if (f.state) q.set('state', f.state);
    if (f.host) q.set('host', f.host);
    if (f.label) q.set('label', f.label);
    if (f.text) q.set('q', f.text);
    history.replaceState(null, '', '#/checks' + (q.toString() ? '?' + q : ''));
  }
  function draw() {
    if (!all) return;
    const [lk, lv] = f.label.split('=');
    const text = f.text.toLowerCase();
    const list = all.filter(c => (!f.state || (f.state === 'problems' ? c.state !== 'ok' : c.state === f.state))
      && (!f.host || c.host.toLowerCase().includes(f.host.toLowerCase()))
      && (!f.label || (c.labels && lk in c.labels && (lv === undefined || c.labels[lk] === lv)))
      && (!text || (c.check + ' ' + c.output).toLowerCase().includes(text)));
    const byHost = new Map();
    for (const c of list) { if (!byHost.has(c.host)) byHost.set(c.host, []); byHost.get(c.host).push(c); }
    const now = Date.now();
    grid.replaceChildren(el('p', { class: 'hint', role: 'status' }, `${list.length} of ${all.length} checks`),
      el('div', { class: 'table-wrap' }, el('table', { class: 'checks grid' },
        el('thead', {}, el('tr', {}, ...['Host', 'Check', 'State', 'Last check', 'Duration', 'Attempt', 'Output'].map(h => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, [...byHost].flatMap(([host, cs]) => cs.map((c, i) => el('tr', { 'data-key': c.host + '/' + c.check },
          i === 0 ? el('th', { scope: 'rowgroup', rowspan: cs.length }, host) : null,
          el('td', {}, el('a', { href: `#/check/${encodeURIComponent(c.host)}/${encodeURIComponent(c.check)}` }, c.check)),
          el('td', {}, stateBadge(c.state), c.stateType === 'soft' ? el('span', { class: 'tag' }, 'soft') : null,
            c.acknowledgement ? el('span', { class: 'tag' }, 'acked') : null, c.inDowntime ? el('span', { class: 'tag' }, 'downtime') : null),
          el('td', { title: time(c.lastCheck) }, c.lastCheck ? age(c.lastCheck, now) + ' ago' : 'never'),
          el('td', {}, age(c.lastStateChange, now)),
          el('td', {}, `${c.attempt}/${c.maxAttempts}`),
          el('td', { class: 'output' }, c.output))))))));
  }
  return every(REFRESH_MS, async () => { all = await api('/api/checks'); draw(); });
}

export function checkPage(main, host, check) {
  const path = `/api/checks/${encodeURIComponent(host)}/${encodeURIComponent(check)}`;
  const status = el('section', { 'aria-labelledby': 'h-status' });
  const actions = el('section', { 'aria-labelledby': 'h-actions' });
  const events = el('section', { 'aria-labelledby': 'h-events' });
  const perf = el('section', { 'aria-labelledby': 'h-perf', class: 'perf-chart' });
  const result = el('div', { 'aria-live': 'polite' });
  main.replaceChildren(el('p', {}, el('a', { href: '#/checks' }, '← all checks')), el('h1', {}, `${host} / ${check}`), status, actions, result, perf, events);
  let current = null;

  async function act(method, suffix, body, done) {
    try {
      await api(path + suffix, { method, body });
      note(result, done, true);
      await refresh();
    } catch (e) { note(result, `${done.replace(/\.$/, '')} failed: ${e.message}`); }
  }

  function drawActions() {
    const head = el('h2', { id: 'h-actions' }, 'Actions');
    if (!can('alerts')) { actions.replaceChildren(head, el('p', { class: 'hint', id: 'no-actions' }, whyCannot('alerts'))); return; }
    const author = () => session.whoami?.name ? undefined : (sessionStorage.getItem('observe.author') || 'console');
    const comment = el('input', { id: 'ack-comment', type: 'text', required: true });
    const sticky = el('input', { id: 'ack-sticky', type: 'checkbox' });
    const ackForm = el('form', { class: 'card', id: 'ack-form', onsubmit: ev => { ev.preventDefault();
        act('POST', '/ack', { author: author(), comment: comment.value, sticky: sticky.checked }, 'Acknowledged.'); } },
      el('h3', {}, 'Acknowledge'),
      el('label', { for: 'ack-comment' }, 'Comment'), comment,
      el('label', { class: 'inline' }, sticky, ' Sticky (stays until OK, not just until the next state change)'),
      el('button', { type: 'submit', disabled: current?.state === 'ok' }, 'Acknowledge'));
    const dtDuration = el('input', { id: 'dt-duration', type: 'text', value: '1h', required: true, pattern: '[0-9]+[smhd]' });
    const dtComment = el('input', { id: 'dt-comment', type: 'text', required: true });
    const dtForm = el('form', { class: 'card', id: 'downtime-form', onsubmit: ev => { ev.preventDefault();
        act('POST', '/downtime', { author: author(), comment: dtComment.value, duration: dtDuration.value, fixed: true }, 'Downtime scheduled.'); } },
      el('h3', {}, 'Schedule downtime (from now)'),
      el('label', { for: 'dt-duration' }, 'Duration (e.g. 30m, 2h)'), dtDuration,
      el('label', { for: 'dt-comment' }, 'Comment'), dtComment,
      el('button', { type: 'submit' }, 'Schedule downtime'));
    const buttons = el('div', { class: 'buttons' },
      el('button', { type: 'button', id: 'recheck', onclick: () => act('POST', '/recheck', {}, 'Re-check requested.') }, 'Re-check now'),
      current?.acknowledgement ? el('button', { type: 'button', id: 'remove-ack', onclick: () => act('DELETE', '/ack', undefined, 'Acknowledgement removed.') }, 'Remove acknowledgement') : null,
      ...(current?.downtimes || []).map(d => el('button', { type: 'button', class: 'cancel-downtime',
        onclick: () => act('DELETE', '/downtime/' + d.id, undefined, 'Downtime cancelled.') }, `Cancel downtime #${d.id}`)));
    actions.replaceChildren(head, buttons, el('div', { class: 'forms' }, ackForm, dtForm));
  }

  function drawStatus(c) {
    const rows = [
      ['State', [stateBadge(c.state), ` ${c.stateType.toUpperCase()} (attempt ${c.attempt}/${c.maxAttempts})`]],
      ['Kind', c.kind],
      ['Output', el('pre', { class: 'output', id: 'check-output' }, c.output)],
      c.longOutput ? ['Long output', el('pre', { class: 'output' }, c.longOutput)] : null,
      ['Last check', time(c.lastCheck)], ['Next check', time(c.nextCheck)],
      ['In this state for', age(c.lastStateChange)],
      ['Flapping', c.isFlapping ? `yes (${c.percentStateChange.toFixed(1)} % state change)` : 'no'],
      ['Acknowledged', c.acknowledgement ? `by ${c.acknowledgement.author} ${time(c.acknowledgement.time)}${c.acknowledgement.sticky ? ' (sticky)' : ''}: ${c.acknowledgement.comment}` : 'no'],
      ['Downtimes', (c.downtimes || []).length ? c.downtimes.map(d => `#${d.id} ${time(d.start)} – ${time(d.end)} by ${d.author}: ${d.comment}${d.inEffect ? ' (in effect)' : ''}`).join('; ') : 'none'],
      ['Labels', Object.entries(c.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'],
    ].filter(Boolean);
    status.replaceChildren(el('h2', { id: 'h-status' }, 'Status'), el('dl', { class: 'status' }, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  }

  function drawEvents(list) {
    events.replaceChildren(el('h2', { id: 'h-events' }, 'History'), el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ...['Time', 'Event', 'State', 'Output'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, [...list].reverse().slice(0, 100).map(e => el('tr', {},
        el('td', {}, time(e.time || e.at || e.timestamp)), el('td', {}, String(e.kind ?? e.type ?? e.event ?? '')),
        el('td', {}, e.state ? stateBadge(e.state) : ''), el('td', { class: 'output' }, e.output ?? e.comment ?? '')))))));
  }

  async function refresh() {
    const [c, ev] = await Promise.all([api(path), api(path + '/events').catch(() => [])]);
    const actionsChanged = !current || !!current.acknowledgement !== !!c.acknowledgement || current.state !== c.state
      || JSON.stringify(current.downtimes) !== JSON.stringify(c.downtimes);
    current = c;
    drawStatus(c);
    // Forms are only rebuilt when what they offer changes, so typing is not lost to a refresh.
    if (actionsChanged) drawActions();
    drawEvents(ev || []);
  }
  // The perfdata series the engine writes (<checksMetricPrefix>.<host>.<check>.<label>), last 6 hours.
  async function drawPerf() {
    const target = `${session.whoami?.checksMetricPrefix || 'checks'}.${host}.${check}.*`;
    const head = el('h2', { id: 'h-perf' }, 'Performance data (6 h)');
    try {
      const series = await api('/render?' + new URLSearchParams({ target, from: '-6h', until: 'now', format: 'json' }));
      perf.replaceChildren(head, series.length ? lineChart(series, [], { title: target, height: 200 }) : el('p', { class: 'hint' }, 'This check reports no performance data.'));
    } catch (e) { perf.replaceChildren(head, el('p', { class: 'error' }, 'Could not read ' + target + ': ' + e.message)); }
  }
  const stopStatus = every(REFRESH_MS, refresh);
  const stopPerf = every(30000, drawPerf);
  return () => { stopStatus(); stopPerf(); };
}
