// The public status page: reads /status.json (no token) every 30 s; everything is set as text.
const LABEL = { operational: 'Operational', degraded: 'Degraded performance', outage: 'Outage', maintenance: 'Under maintenance' };
const OVERALL = { operational: 'All systems operational', degraded: 'Some systems are degraded', outage: 'Some systems are down', maintenance: 'Maintenance in progress' };

function item(c) {
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
    document.getElementById('components').replaceChildren(...s.components.map(item));
    document.getElementById('updated').textContent = 'Updated ' + new Date(s.updatedAt).toLocaleString();
  } catch {
    document.getElementById('updated').textContent = 'Cannot reach the status service; retrying.';
  }
  setTimeout(refresh, 30000);
}
refresh();
