// Logs: search the embedded log store (query, service, level, host, time) with each line's fields expandable.
// The query is in the URL, so a search can be shared.
import { el, api, time, note } from './app.js';

const LEVELS = ['', 'error', 'warning', 'info', 'debug', 'error,warning'];

export function logsPage(main, params) {
  const v = k => params.get(k) || '';
  const field = (id, label, key, attrs = {}) => {
    const input = el('input', { id, name: key, type: 'search', value: v(key) || attrs.value || '', ...attrs });
    return [el('label', { for: id }, label), input];
  };
  const level = el('select', { id: 'l-level', name: 'level' }, LEVELS.map(l => el('option', { value: l, selected: l === v('level') }, l || 'any')));
  const results = el('section', { 'aria-labelledby': 'h-results' });
  const form = el('form', { class: 'filters', role: 'search', onsubmit: ev => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const [k, val] of new FormData(form)) if (String(val).trim()) q.set(k, String(val).trim());
      // Setting the hash re-routes, which runs the search: one path for typing a URL and for pressing Search.
      const hash = '#/logs?' + q;
      if (location.hash === hash) search(); else location.hash = hash;
    } },
    ...field('l-q', 'Text', 'q'), ...field('l-service', 'Service', 'service'), el('label', { for: 'l-level' }, 'Level'), level,
    ...field('l-host', 'Host', 'host'), ...field('l-from', 'From', 'from', { value: '-1h', placeholder: '-1h or ISO time' }),
    ...field('l-until', 'Until', 'until', { placeholder: 'now' }), el('button', { type: 'submit' }, 'Search'));
  main.replaceChildren(el('h1', {}, 'Logs'), form, results);

  async function search() {
    const q = new URLSearchParams(params);
    if (!q.has('from')) q.set('from', '-1h');
    q.set('limit', '200');
    results.replaceChildren(el('p', { class: 'hint' }, 'Searching…'));
    try {
      const r = await api('/api/logs?' + q);
      results.replaceChildren(el('h2', { id: 'h-results' }, `${r.count} line${r.count === 1 ? '' : 's'} (newest first, at most 200)`),
        el('ul', { class: 'logs' }, r.logs.map(line => el('li', { class: 'lvl-' + line.level },
          el('details', {}, el('summary', {},
            el('span', { class: 'hint' }, time(line.timestamp)), ' ', el('span', { class: 'badge lvl' }, line.level), ' ',
            el('span', { class: 'hint' }, `${line.service}@${line.host}`), ' ', el('span', { class: 'message' }, line.message)),
          el('dl', { class: 'status' }, Object.entries(line.fields || {}).flatMap(([k, val]) => [el('dt', {}, k), el('dd', { class: 'output' }, val)])))))));
    } catch (e) { note(results, 'Search failed: ' + e.message); }
  }
  search();
  return null;
}
