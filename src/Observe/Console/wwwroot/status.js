// The public status page: reads /status.json (no token) every 30 s; everything is set as text.
const LABEL = { operational: 'Operational', degraded: 'Degraded performance', outage: 'Outage', maintenance: 'Under maintenance' };
const OVERALL = { operational: 'All systems operational', degraded: 'Some systems are degraded', outage: 'Some systems are down', maintenance: 'Maintenance in progress' };

const DAY = { operational: 'no downtime', degraded: 'degraded', outage: 'outage', maintenance: 'maintenance', nodata: 'no data' };

function text(tag, className, value) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  e.textContent = value;
  return e;
}

const pct = p => (p === null || p === undefined ? 'no data' : `${p.toFixed(p === 100 ? 0 : 2)} % uptime`);

// One bar per UTC day, oldest first; each says its day and status as its accessible name and tooltip.
function bars(u) {
  const wrap = document.createElement('div');
  wrap.className = 'uptime';
  const row = document.createElement('div');
  row.className = 'bars';
  row.setAttribute('role', 'img');
  const worst = u.days.filter(d => d.status !== 'operational' && d.status !== 'nodata').length;
  row.setAttribute('aria-label', `${u.days.length}-day uptime of ${u.name}: ${pct(u.uptimePercent)}, ${worst} day(s) with problems`);
  for (const d of u.days) {
    const bar = document.createElement('span');
    bar.className = 'bar day-' + d.status;
    bar.title = `${d.date}: ${DAY[d.status] || d.status}${d.uptimePercent !== null && d.uptimePercent < 100 ? ` (${pct(d.uptimePercent)})` : ''}`;
    row.append(bar);
  }
  const legend = document.createElement('p');
  legend.className = 'bars-legend hint';
  legend.append(text('span', '', `${u.days.length} days ago`), text('span', 'uptime-total', pct(u.uptimePercent)), text('span', '', 'Today'));
  wrap.append(row, legend);
  return wrap;
}

function when(t) { return new Date(t).toLocaleString(); }

function incident(i) {
  const li = document.createElement('li');
  li.className = i.resolvedAt ? 'incident resolved' : 'incident ongoing';
  li.append(text('strong', '', i.component), text('span', '', i.resolvedAt
    ? ` — disrupted from ${when(i.startedAt)} to ${when(i.resolvedAt)}`
    : ` — disrupted since ${when(i.startedAt)}, not resolved yet`));
  return li;
}

function item(c, uptime) {
  const li = document.createElement('li');
  li.className = 'component st-' + c.status;
  const name = document.createElement('strong');
  name.textContent = c.name;
  const status = document.createElement('span');
  status.className = 'component-status';
  status.textContent = LABEL[c.status] || c.status;
  li.append(name, status);
  if (c.description) {
    const d = document.createElement('p');
    d.className = 'hint';
    d.textContent = c.description;
    li.append(d);
  }
  if (uptime) li.append(bars(uptime));
  return li;
}

async function refresh() {
  try {
    const res = await fetch('/status.json', { cache: 'no-store', credentials: 'omit' });
    const s = await res.json();
    document.title = s.title;
    document.getElementById('title').textContent = s.title;
    const overall = document.getElementById('overall');
    overall.textContent = s.components.length ? OVERALL[s.status] || s.status : 'No components are configured.';
    overall.className = 'overall st-' + s.status;
    const uptime = new Map((s.uptime || []).map(u => [u.name, u]));
    document.getElementById('components').replaceChildren(...s.components.map(c => item(c, uptime.get(c.name))));
    const incidents = s.incidents || [];
    document.getElementById('incidents').replaceChildren(...(incidents.length ? incidents.map(incident)
      : [text('li', 'hint', 'No incidents in the last 90 days.')]));
    document.getElementById('updated').textContent = 'Updated ' + new Date(s.updatedAt).toLocaleString();
  } catch {
    document.getElementById('updated').textContent = 'Cannot reach the status service; retrying.';
  }
  setTimeout(refresh, 30000);
}
refresh();
