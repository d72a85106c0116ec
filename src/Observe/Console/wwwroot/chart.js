// A small SVG line chart (no library, no inline style: colours are SVG attributes). Series from /render's JSON.
const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#0b57d0', '#c62828', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f', '#5d4037', '#ad1457'];

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * series: [{target, datapoints: [[value|null, unixSeconds], …]}]; markers: [{at: unixSeconds, label, colour}].
 * Returns a figure with the chart, a legend and a caption; an empty chart says so instead of drawing axes alone.
 */
export function lineChart(series, markers = [], { width = 900, height = 260, title = '' } = {}) {
  const fig = document.createElement('figure');
  fig.className = 'chart';
  const points = series.flatMap(s => s.datapoints.filter(p => p[0] !== null && Number.isFinite(p[0])));
  if (points.length === 0) {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'No data points in this range.';
    fig.append(p);
    return fig;
  }
  const times = series.flatMap(s => s.datapoints.map(p => p[1])).concat(markers.map(m => m.at));
  const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 1);
  let v0 = Math.min(0, ...points.map(p => p[0])), v1 = Math.max(...points.map(p => p[0]));
  if (v1 <= v0) v1 = v0 + 1;
  const L = 56, R = 36, T = 10, B = 24, w = width - L - R, h = height - T - B;
  const x = t => L + (t - t0) / (t1 - t0) * w, y = v => T + h - (v - v0) / (v1 - v0) * h;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title || 'chart', class: 'chart-svg' });
  root.append(svg('rect', { x: L, y: T, width: w, height: h, fill: '#fff', stroke: '#ccc' }));
  for (let i = 0; i <= 4; i++) {
    const v = v0 + (v1 - v0) * i / 4;
    root.append(svg('line', { x1: L, x2: L + w, y1: y(v), y2: y(v), stroke: '#eee' }),
      svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#555' }, Number(v.toPrecision(3)).toString()));
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (t1 - t0) * i / 4;
    root.append(svg('text', { x: x(t), y: height - 6, 'text-anchor': 'middle', 'font-size': 11, fill: '#555' }, new Date(t * 1000).toLocaleTimeString()));
  }
  series.forEach((s, i) => {
    let d = '', pen = false;
    for (const [v, t] of s.datapoints) {
      if (v === null || !Number.isFinite(v)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    if (d) root.append(svg('path', { d, fill: 'none', stroke: COLOURS[i % COLOURS.length], 'stroke-width': 1.6, class: 'series' }));
  });
  // Labels step down so markers close in time (start and finish) stay readable; in the right half they stand left of
  // their line, so a marker at the end of the range (a rollback) is not cut off by the edge.
  markers.forEach((m, i) => {
    const right = x(m.at) > L + w / 2;
    root.append(svg('line', { x1: x(m.at), x2: x(m.at), y1: T, y2: T + h, stroke: m.colour || '#000', 'stroke-dasharray': '4 3', class: 'marker' }),
      svg('text', { x: x(m.at) + (right ? -3 : 3), y: T + 12 + 13 * i, 'text-anchor': right ? 'end' : 'start', 'font-size': 11, fill: m.colour || '#000' }, m.label));
  });
  fig.append(root);
  const legend = document.createElement('ul');
  legend.className = 'legend';
  series.forEach((s, i) => {
    const li = document.createElement('li');
    const swatch = svg('svg', { width: 12, height: 12, 'aria-hidden': 'true' });
    swatch.append(svg('rect', { width: 12, height: 12, fill: COLOURS[i % COLOURS.length] }));
    li.append(swatch, document.createTextNode(' ' + s.target));
    legend.append(li);
  });
  fig.append(legend);
  return fig;
}
