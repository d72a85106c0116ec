// Metrics: a Graphite target with completion from /metrics/find, a time range, and the chart with its legend.
// The target and range are in the URL (#/metrics?target=…&from=-6h), so a graph can be shared.
import { el, api, every } from './app.js';
import { lineChart } from './chart.js';

const RANGES = ['-15min', '-1h', '-6h', '-24h', '-7d', '-30d'];
const REFRESH_MS = 10000;
// The path being typed at the end of the target (inside a function call or alone).
const TRAILING_PATH = /[A-Za-z0-9_.\-*{}\[\]:]+$/;

export function metricsPage(main, params) {
  const target = el('input', { id: 'm-target', type: 'text', list: 'm-complete', value: params.get('target') || '', spellcheck: 'false', autocomplete: 'off', size: 60 });
  const options = el('datalist', { id: 'm-complete' });
  const range = el('select', { id: 'm-from' }, RANGES.map(r => el('option', { value: r, selected: r === (params.get('from') || '-1h') }, r)));
  const chart = el('div', { class: 'metric-chart', 'aria-live': 'polite' });
  let completing = 0;
  target.addEventListener('input', async () => {
    const m = TRAILING_PATH.exec(target.value);
    if (!m) return;
    const mine = ++completing;
    try {
      const r = await api('/metrics/find?format=completer&query=' + encodeURIComponent(m[0]));
      if (mine !== completing) return;
      const head = target.value.slice(0, m.index);
      options.replaceChildren(...(r.metrics || []).filter(x => x.path).slice(0, 100).map(x => el('option', { value: head + x.path })));
    } catch { /* completion is a convenience: the chart still says what is wrong */ }
  });
  const form = el('form', { class: 'filters', role: 'search', onsubmit: ev => {
      ev.preventDefault();
      const hash = '#/metrics?' + new URLSearchParams({ target: target.value.trim(), from: range.value });
      if (location.hash === hash) draw(); else location.hash = hash;
    } },
    el('label', { for: 'm-target' }, 'Target'), target, options, el('label', { for: 'm-from' }, 'From'), range, el('button', { type: 'submit' }, 'Draw'));
  main.replaceChildren(el('h1', {}, 'Metrics'), form, chart);

  async function draw() {
    const t = params.get('target');
    if (!t) { chart.replaceChildren(el('p', { class: 'hint' }, 'Type a Graphite target (e.g. checks.*.*.time or sumSeries(stats.*.requests)); paths complete as you type.')); return; }
    try {
      const series = await api('/render?' + new URLSearchParams({ target: t, from: params.get('from') || '-1h', until: 'now', format: 'json' }));
      chart.replaceChildren(lineChart(series, [], { title: t }));
    } catch (e) { chart.replaceChildren(el('p', { class: 'error' }, 'Could not draw: ' + e.message)); }
  }
  return params.get('target') ? every(REFRESH_MS, draw) : (draw(), null);
}
