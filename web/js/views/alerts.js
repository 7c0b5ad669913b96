// Alerts (#/alerts): the ward's alerts by priority and age, escalation
// state, acknowledge with a note (nurse and up). GET /api/v1/alerts.
// Below them, apart, the technical alerts (wardd's storage, the feeds;
// techui.js): active ones and the last resolved, resolve with a note.

import { get, optional } from '../api.js';
import { h, clear, setText, icon } from '../dom.js';
import { alertList, pendingNote } from '../components.js';
import { techSection } from '../techui.js';

const STATES = [
  ['active', 'Active'], ['acknowledged', 'Acknowledged'], ['resolved', 'Resolved'], ['all', 'All'],
];

export function mount(root, ctx, params) {
  const st = { alive: true, state: STATES.some(([k]) => k === params.query.state) ? params.query.state : 'active',
               names: new Map(), busy: false, again: false };
  const tabs = STATES.map(([k, label]) => h('button.seg', {
    type: 'button', 'aria-pressed': String(k === st.state), dataset: { state: k },
    onclick: () => {
      st.state = k;
      for (const b of tabs) b.setAttribute('aria-pressed', String(b.dataset.state === k));
      history.replaceState(null, '', `#/alerts${k === 'active' ? '' : `?state=${k}`}`);
      refresh({ reason: 'filter' });
    },
  }, label));
  const count = h('p.board-summary', { 'aria-live': 'polite' });
  const ui = alertList({ ctx, showPatient: true, patientName: (pid) => st.names.get(pid),
                         emptyText: '', onChanged: () => refresh({ reason: 'ack' }) });
  // Parts are shown and hidden, never rebuilt, so an open acknowledge form
  // keeps its text and focus while the list refreshes.
  const pending = h('div', { hidden: true }, pendingNote('Alerts are'));
  const failed = h('p.banner.banner-warn', { role: 'alert', hidden: true });
  const emptyMsg = h('span');
  const empty = h('p.empty-big', { hidden: true }, icon('check'), emptyMsg);
  const body = h('div.alerts-page-body', pending, failed, empty, ui.el);
  const tech = techSection(ctx);
  root.append(h('section.alerts-view', { 'aria-labelledby': 'alerts-title' },
    h('div.board-bar', h('h1#alerts-title', { tabindex: '-1' }, 'Alerts'), count,
      h('div.segmented', { role: 'group', 'aria-label': 'Show alerts' }, h('span.seg-label', 'Show'), tabs)),
    ctx.can('nurse') ? null : h('p.hint', 'Read-only: acknowledging needs a nurse, physician or admin login.'),
    body, tech.el));

  async function refresh() {
    if (st.busy) { st.again = true; return; }
    st.busy = true;
    try {
      const [r, pts] = await Promise.all([
        optional('alerts', `/api/v1/alerts?state=${encodeURIComponent(st.state)}`),
        st.names.size ? null : get('/api/v1/patients?status=all').catch(() => null),
      ]);
      if (!st.alive) return;
      if (pts && Array.isArray(pts.patients)) for (const p of pts.patients) st.names.set(p.id, p.name);
      failed.hidden = true;
      pending.hidden = r.ok || !r.absent;
      ui.el.hidden = !r.ok;
      if (!r.ok && !r.absent) throw r.error; // transient: say so, ask again next time
      if (!r.ok) {
        setText(count, 'Alerts not evaluated');
        empty.hidden = true;
        return;
      }
      ctx.markUpdated();
      const alerts = Array.isArray(r.data.alerts) ? r.data.alerts : [];
      const shown = st.state === 'all' ? alerts : alerts.filter((a) => a.state === st.state);
      ui.set(shown);
      const word = STATES.find(([k]) => k === st.state)[1].toLowerCase();
      setText(count, `${shown.length} ${st.state === 'all' ? '' : word + ' '}alert${shown.length === 1 ? '' : 's'}`);
      if (st.state === 'active') ctx.setAlertCount(shown.length);
      empty.hidden = shown.length > 0;
      setText(emptyMsg, st.state === 'active' ? 'No active alerts.' : `No ${word} alerts.`);
    } catch (e) {
      if (!st.alive || e.status === 401) return;
      failed.hidden = false;
      clear(failed).append(icon('warn'), h('span', `Could not load alerts: ${e.describe ? e.describe() : e.message}`));
    } finally {
      st.busy = false;
      if (st.again && st.alive) { st.again = false; refresh(); }
    }
  }

  refresh({ reason: 'mount' });
  return {
    title: 'Alerts',
    refresh(why) {
      // Only alert events (or polling / resync) concern this page.
      if (why && why.reason === 'events' && why.events.length &&
          !why.events.some((e) => e.type === 'alert' || e.type === 'resync' || e.type === 'reset')) return;
      refresh(why);
    },
    tick() { ui.tick(); },
    unmount() { st.alive = false; tech.unmount(); },
  };
}
