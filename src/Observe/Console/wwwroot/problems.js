// Problems (home): what is broken now. One request per source per refresh; HARD non-OK checks split by how they are handled.
import { el, api, age, time, stateBadge, feature, every, session } from './app.js';

const REFRESH_MS = 2000;
// Nagios/Icinga order: the worst first.
const SEVERITY = { critical: 0, unknown: 1, warning: 2 };

export function problemsPage(main) {
  const sections = {
    checks: el('section', { 'aria-labelledby': 'h-checks' }),
    alerts: el('section', { 'aria-labelledby': 'h-alerts' }),
    deploys: el('section', { 'aria-labelledby': 'h-deploys' }),
    health: el('section', { 'aria-labelledby': 'h-health' }),
  };
  const updated = el('p', { class: 'hint', 'aria-live': 'off' });
  main.replaceChildren(el('h1', {}, 'Problems'), updated, sections.checks, sections.alerts, sections.deploys, sections.health);
  let lastStats = null;
  return every(REFRESH_MS, async () => {
    const [checks, alerts, deploys, stats] = await Promise.all([
      feature('checks') ? api('/api/checks?problems=1').catch(() => null) : null,
      feature('alerting') ? api('/api/alerts').catch(() => null) : null,
      feature('deploys') ? api('/api/deploys?limit=8').catch(() => null) : null,
      api('/stats').catch(() => null),
    ]);
    if (session.lostSince) return;
    renderChecks(sections.checks, checks);
    renderAlerts(sections.alerts, alerts);
    renderDeploys(sections.deploys, deploys);
    renderHealth(sections.health, stats, lastStats);
    if (stats) lastStats = { at: Date.now(), stats };
    updated.textContent = 'Updated ' + new Date().toLocaleTimeString();
  });
}

/** HARD non-OK only (a SOFT state may still recover), worst first, then the newest problem first. */
export function hardProblems(checks) {
  return (checks || [])
    .filter(c => c.state !== 'ok' && c.stateType === 'hard')
    .sort((a, b) => (SEVERITY[a.state] ?? 3) - (SEVERITY[b.state] ?? 3)
      || Date.parse(b.lastHardStateChange || b.lastStateChange) - Date.parse(a.lastHardStateChange || a.lastStateChange));
}

function renderChecks(section, checks) {
  const head = el('h2', { id: 'h-checks' }, 'Checks');
  if (!feature('checks')) { section.replaceChildren(head, el('p', { class: 'hint' }, 'Checks are not enabled.')); return; }
  if (!checks) { section.replaceChildren(head, el('p', { class: 'error' }, 'Could not read /api/checks.')); return; }
  const hard = hardProblems(checks);
  const groups = [
    ['Unhandled', hard.filter(c => !c.acknowledgement && !c.inDowntime), 'unhandled'],
    ['Acknowledged', hard.filter(c => c.acknowledgement && !c.inDowntime), 'acked'],
    ['In downtime', hard.filter(c => c.inDowntime), 'downtime'],
  ];
  const parts = [head];
  if (hard.length === 0) parts.push(el('p', { class: 'all-ok', role: 'status' }, 'All checks are OK (or only SOFT problems).'));
  for (const [title, list, id] of groups) {
    if (list.length === 0) continue;
    parts.push(el('h3', { id: 'h-' + id }, `${title} (${list.length})`), checkTable(list, id));
  }
  section.replaceChildren(...parts);
}

export function checkTable(list, id) {
  const now = Date.now();
  return el('div', { class: 'table-wrap' }, el('table', { class: 'checks', 'data-group': id, 'aria-labelledby': 'h-' + id },
    el('thead', {}, el('tr', {}, ...['State', 'Host', 'Check', 'For', 'Attempt', 'Output'].map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, list.map(c => el('tr', { 'data-key': c.host + '/' + c.check },
      el('td', {}, stateBadge(c.state), c.isFlapping ? el('span', { class: 'tag' }, 'flapping') : null),
      el('td', {}, c.host),
      el('td', {}, el('a', { href: `#/check/${encodeURIComponent(c.host)}/${encodeURIComponent(c.check)}` }, c.check)),
      el('td', { title: time(c.lastHardStateChange || c.lastStateChange) }, age(c.lastHardStateChange || c.lastStateChange, now)),
      el('td', {}, `${c.attempt}/${c.maxAttempts}`),
      el('td', { class: 'output' }, c.output,
        c.acknowledgement ? el('div', { class: 'hint' }, `ack by ${c.acknowledgement.author}: ${c.acknowledgement.comment}`) : null))))));
}

function renderAlerts(section, alerts) {
  const head = el('h2', { id: 'h-alerts' }, 'Firing alerts');
  if (!feature('alerting')) { section.replaceChildren(head, el('p', { class: 'hint' }, 'Alerting is not enabled.')); return; }
  if (!alerts) { section.replaceChildren(head, el('p', { class: 'error' }, 'Could not read /api/alerts.')); return; }
  const firing = alerts.filter(a => a.alert?.status === 'firing' && !a.silencedBy && !a.inhibitedBy);
  if (firing.length === 0) { section.replaceChildren(head, el('p', { class: 'all-ok' }, 'Nothing firing.')); return; }
  // Grouped by where they go, as Alertmanager's UI groups by receiver.
  const byReceiver = new Map();
  for (const a of firing) {
    const r = (a.receivers || []).join(', ') || '(no receiver)';
    if (!byReceiver.has(r)) byReceiver.set(r, []);
    byReceiver.get(r).push(a);
  }
  const parts = [head];
  for (const [receiver, list] of byReceiver) {
    parts.push(el('h3', {}, `${receiver} (${list.length})`), el('ul', { class: 'alerts' }, list.map(a => el('li', {},
      el('span', { class: 'badge sev-' + String(a.alert.severity).toLowerCase() }, a.alert.severity), ' ',
      el('strong', {}, a.alert.summary), ' ', el('span', { class: 'hint' }, `${a.alert.key} · for ${age(a.alert.startsAt)}`),
      a.acknowledgement ? el('span', { class: 'tag' }, 'acked') : null))));
  }
  section.replaceChildren(...parts);
}

function pick(o, ...names) { for (const n of names) if (o && o[n] !== undefined && o[n] !== null) return o[n]; return undefined; }

function renderDeploys(section, deploys) {
  const head = el('h2', { id: 'h-deploys' }, 'Last deploys');
  if (!feature('deploys')) { section.replaceChildren(head, el('p', { class: 'hint' }, 'Deploys are not enabled.')); return; }
  if (!deploys) { section.replaceChildren(head, el('p', { class: 'error' }, 'Could not read /api/deploys.')); return; }
  if (deploys.length === 0) { section.replaceChildren(head, el('p', { class: 'hint' }, 'No deploys recorded.')); return; }
  section.replaceChildren(head, el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {}, ...['Service', 'Env', 'Version', 'By', 'Started', 'State', 'Verdict'].map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, deploys.map(d => {
      const verdict = pick(d.verification, 'verdict') || '';
      return el('tr', {},
        el('td', {}, d.service), el('td', {}, d.env), el('td', {}, d.version), el('td', {}, d.by),
        el('td', { title: time(pick(d, 'startedAt', 'started_at')) }, age(pick(d, 'startedAt', 'started_at')) + ' ago'),
        el('td', {}, String(d.state ?? '')), el('td', {}, el('span', { class: 'verdict v-' + verdict }, verdict)));
    })))));
}

/** Observe's own health: ingest rate (from the change since the last refresh), UDP drops, spool depth, sink failures. */
function renderHealth(section, stats, last) {
  const head = el('h2', { id: 'h-health' }, 'Observe itself');
  if (!stats) { section.replaceChildren(head, el('p', { class: 'error' }, 'Could not read /stats.')); return; }
  const statsd = stats.collector?.statsd || {};
  let rate = '…';
  if (last) {
    const dt = (Date.now() - last.at) / 1000;
    const dm = (statsd.metricsReceived ?? 0) - (last.stats.collector?.statsd?.metricsReceived ?? 0);
    if (dt > 0) rate = (Math.max(0, dm) / dt).toFixed(1) + ' /s';
  }
  const spools = stats.spools || [];
  const sinks = [...(stats.collector?.sinks || []), ...(stats.logs?.sinks || [])];
  const failures = sinks.reduce((n, s) => n + (s.writeFailures || 0), 0);
  const rows = [
    ['StatsD metrics in', rate],
    ['UDP drops (kernel)', statsd.kernelUdpDrops ?? 0],
    ['Keys dropped by limit', statsd.keysDroppedByLimit ?? 0],
    ['Spool depth', spools.length ? spools.map(s => `${s.sink}: ${s.records}`).join(', ') : 'no spooled sinks'],
    ['Sink write failures', failures],
    ['Damaged stores', (stats.damagedStores || []).length],
  ];
  section.replaceChildren(head, el('dl', { class: 'health' }, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))])));
}
