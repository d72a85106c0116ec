// Alerts: firing / silenced / inhibited by receiver, acknowledge, silences (list, create pre-filled from an alert, expire), history.
import { el, api, age, time, every, can, whyCannot, note, session } from './app.js';

const REFRESH_MS = 5000;

/** A matcher for the alert's label that survives spaces and quotes in the value (the API strips one pair of quotes). */
const matcher = (k, v) => `${k}="${v}"`;
// Labels that change while the problem lasts (a check going WARNING → CRITICAL): a silence pre-filled with them would
// stop matching, so they are left out of the pre-filled matchers.
const VOLATILE = new Set(['severity', 'state', 'state_type', 'notification_type']);

export function alertsPage(main) {
  const active = el('section', { 'aria-labelledby': 'h-active' });
  const silences = el('section', { 'aria-labelledby': 'h-silences' });
  const history = el('section', { 'aria-labelledby': 'h-history' });
  const result = el('div', { 'aria-live': 'polite' });
  const author = () => session.whoami?.name ? undefined : (sessionStorage.getItem('observe.author') || 'console');

  // The create form is built once (a refresh must not eat what is being typed); "Silence…" on an alert fills it.
  const sMatchers = el('textarea', { id: 'silence-matchers', rows: 3, required: true, spellcheck: 'false' });
  const sDuration = el('input', { id: 'silence-duration', type: 'text', value: '2h', required: true });
  const sComment = el('input', { id: 'silence-comment', type: 'text', required: true });
  const form = el('form', { class: 'card', id: 'silence-form', onsubmit: async ev => {
      ev.preventDefault();
      const matchers = sMatchers.value.split('\n').map(s => s.trim()).filter(Boolean);
      try {
        const s = await api('/api/silences', { method: 'POST', body: { matchers, duration: sDuration.value, comment: sComment.value, author: author() } });
        note(result, `Silence ${s.id} created.`, true);
        sComment.value = '';
        await refresh();
      } catch (e) { note(result, 'Creating the silence failed: ' + e.message); }
    } },
    el('h3', {}, 'New silence'),
    el('label', { for: 'silence-matchers' }, 'Matchers, one per line (name="value", name!=value, name=~regex)'), sMatchers,
    el('label', { for: 'silence-duration' }, 'Duration (e.g. 30m, 2h)'), sDuration,
    el('label', { for: 'silence-comment' }, 'Comment (the reason)'), sComment,
    el('button', { type: 'submit' }, 'Create silence'));

  main.replaceChildren(el('h1', {}, 'Alerts'), result, active, silences,
    can('alerts') ? form : el('p', { class: 'hint', id: 'no-actions' }, whyCannot('alerts')), history);

  async function act(promise, done) {
    try { await promise; note(result, done, true); await refresh(); }
    catch (e) { note(result, `${done.replace(/\.$/, '')} failed: ${e.message}`); }
  }

  function alertItem(a) {
    const x = a.alert;
    const labels = Object.entries(x.labels || {});
    return el('li', { 'data-key': x.key },
      el('span', { class: 'badge sev-' + String(x.severity).toLowerCase() }, x.severity), ' ',
      el('strong', {}, x.summary), ' ',
      el('span', { class: 'hint' }, `${x.key} · since ${age(x.startsAt)}`),
      a.silencedBy ? el('span', { class: 'tag' }, 'silenced by ' + a.silencedBy) : null,
      a.inhibitedBy ? el('span', { class: 'tag' }, 'inhibited by ' + a.inhibitedBy) : null,
      a.acknowledgement ? el('span', { class: 'tag' }, `acked by ${a.acknowledgement.author}`) : null,
      el('div', { class: 'hint labels' }, labels.map(([k, v]) => `${k}=${v}`).join(' ')),
      can('alerts') ? el('div', { class: 'buttons' },
        a.acknowledgement ? null : el('button', { type: 'button', class: 'ack-alert', onclick: () =>
          act(api('/api/alerts/ack', { method: 'POST', body: { key: x.key, comment: 'acknowledged in the console', author: author() } }), `Acknowledged ${x.key}.`) }, 'Acknowledge'),
        el('button', { type: 'button', class: 'silence-alert', onclick: () => {
          sMatchers.value = labels.filter(([k]) => !VOLATILE.has(k)).map(([k, v]) => matcher(k, v)).join('\n');
          sComment.focus();
        } }, 'Silence…')) : null);
  }

  function drawActive(list) {
    const parts = [el('h2', { id: 'h-active' }, 'Active alerts')];
    const groups = [
      ['Firing', list.filter(a => a.alert.status === 'firing' && !a.silencedBy && !a.inhibitedBy)],
      ['Silenced', list.filter(a => a.silencedBy)],
      ['Inhibited', list.filter(a => a.inhibitedBy && !a.silencedBy)],
    ];
    for (const [title, alerts] of groups) {
      parts.push(el('h3', {}, `${title} (${alerts.length})`));
      const byReceiver = new Map();
      for (const a of alerts) {
        const r = (a.receivers || []).join(', ') || '(no receiver)';
        if (!byReceiver.has(r)) byReceiver.set(r, []);
        byReceiver.get(r).push(a);
      }
      for (const [receiver, as] of byReceiver)
        parts.push(el('h4', {}, receiver), el('ul', { class: 'alerts', 'data-group': title.toLowerCase() }, as.map(alertItem)));
    }
    active.replaceChildren(...parts);
  }

  function drawSilences(list) {
    const rows = list.filter(s => s.state !== 'expired').concat(list.filter(s => s.state === 'expired').slice(-10));
    silences.replaceChildren(el('h2', { id: 'h-silences' }, 'Silences'), el('div', { class: 'table-wrap' }, el('table', { id: 'silences' },
      el('thead', {}, el('tr', {}, ...['State', 'Matchers', 'Starts', 'Ends', 'By', 'Comment', ''].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows.map(s => el('tr', { 'data-id': s.id },
        el('td', {}, s.state), el('td', { class: 'output' }, (s.matchers || []).join(', ')),
        el('td', {}, time(s.startsAt)), el('td', {}, time(s.endsAt)), el('td', {}, s.createdBy), el('td', {}, s.comment),
        el('td', {}, can('alerts') && s.state !== 'expired' ? el('button', { type: 'button', class: 'expire', onclick: () =>
          act(api('/api/silences/' + encodeURIComponent(s.id) + (author() ? '?author=' + encodeURIComponent(author()) : ''), { method: 'DELETE' }), `Silence ${s.id} expired.`) }, 'Expire') : null)))))));
  }

  function drawHistory(list) {
    history.replaceChildren(el('h2', { id: 'h-history' }, 'History'), el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ...['Time', 'Event', 'Alert', 'Receiver', 'Who', 'Text'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, [...list].reverse().map(h => el('tr', {},
        el('td', {}, time(h.time)), el('td', {}, h.event), el('td', {}, h.key ?? ''), el('td', {}, h.receiver ?? ''),
        el('td', {}, h.who ?? ''), el('td', { class: 'output' }, h.text)))))));
  }

  async function refresh() {
    const [a, s, h] = await Promise.all([api('/api/alerts'), api('/api/silences'), api('/api/alerts/history?limit=50')]);
    drawActive(a); drawSilences(s); drawHistory(h);
  }
  return every(REFRESH_MS, refresh);
}
