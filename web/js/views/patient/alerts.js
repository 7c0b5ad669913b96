// Patient view: this patient's active alerts (acknowledge in place) and
// the last ten acknowledged or resolved ones. Built once and updated in
// place, so an open acknowledge form survives refreshes.

import { h, setText } from '../../dom.js';
import { alertList, pendingNote } from '../../components.js';
import { loadErrorNote } from './common.js';

export function createAlertsCard(ctx, onChanged) {
  const body = h('div.alerts-body');
  const active = alertList({ ctx, showPatient: false, emptyText: 'No alerts for this patient.', onChanged });
  const pending = h('div', { hidden: true }, pendingNote('Alerts are'));
  const failed = h('div', { hidden: true });
  const loading = h('p.muted', 'Loading…');
  const past = alertList({ ctx, showPatient: false });
  const pastSummary = h('summary');
  const pastBox = h('details.more', { hidden: true }, pastSummary, past.el);
  body.append(loading, pending, failed, active.el, pastBox);
  const el = h('section.card.pt-alerts', { 'aria-labelledby': 'pta-h' },
    h('div.card-head', h('h2#pta-h', 'Alerts'), h('a.card-link', { href: '#/alerts' }, 'All ward alerts')), body);

  // st: the view's state (alerts, alertsState, alertsError).
  function render(st) {
    loading.hidden = st.alertsState !== 'loading';
    pending.hidden = st.alertsState !== 'absent';
    failed.hidden = st.alertsState !== 'error';
    if (st.alertsState === 'error') failed.replaceChildren(loadErrorNote('Alerts', st.alertsError));
    active.el.hidden = st.alertsState !== 'ok';
    if (st.alertsState !== 'ok') { pastBox.hidden = true; return; }
    const all = Array.isArray(st.alerts) ? st.alerts : [];
    active.set(all.filter((a) => a.state === 'active'));
    const recent = all.filter((a) => a.state !== 'active').slice(0, 10);
    past.set(recent);
    pastBox.hidden = !recent.length;
    setText(pastSummary, `${recent.length} acknowledged or resolved`);
  }

  return { el, render, tick: () => active.tick() };
}
