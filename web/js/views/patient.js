// Patient view (#/patient/{id}): latest values, the dose decision with every
// reason, trend charts with rule thresholds and dose times, the toxicity
// table, the dose log with "record dose" (and the physician override),
// the patient's alerts, nurse entry of observations, and baselines.
//
// This file holds the view's state, loading and refresh; each section is
// a module under patient/ that builds its element once and renders from
// the shared state `st`.

import { get, optional } from '../api.js';
import { h, clear, setText, icon } from '../dom.js';
import { ruleBands } from '../format.js';
import { loadCatalogue } from '../catalogue.js';
import { createHeader } from './patient/header.js';
import { createDecisionBanner } from './patient/decision.js';
import { createToxCard } from './patient/toxicity.js';
import { createDoseCard } from './patient/doses.js';
import { createAlertsCard } from './patient/alerts.js';
import { createObsForm } from './patient/observations.js';
import { createBaselineCard } from './patient/baseline.js';
import { createTrends } from './patient/trends.js';
import { mountCourses } from './courses.js';
import { invalidCard } from './patient_invalid.js';

// An optional() answer as a section state: 'ok', 'absent' (the server has
// no such endpoint) or 'error' (a failure worth retrying; shown as such).
const stateOf = (r) => (r.ok ? 'ok' : r.absent ? 'absent' : 'error');

// Does a live event concern patient `id`? (Events without a patient do.)
function isAbout(e, id) {
  const d = e.data;
  if (!d || typeof d !== 'object') return true;
  const pid = d.patient_id ?? (d.patient && d.patient.id);
  return pid === undefined || pid === null || Number(pid) === id;
}

// Longer than most functions on purpose: the view's state `st` is shared by
// the short functions inside (loaders, renderAll, refresh); each section's
// own code lives in its module under patient/.
export function mount(root, ctx, params) {
  const id = Number(params.id);
  const st = { alive: true, patient: null, bed: null, fetchedAt: 0, tox: null, toxState: 'loading', toxError: null,
               doses: null, dosesState: 'loading', dosesError: null, alerts: null, alertsState: 'loading', alertsError: null,
               bands: [], rulesState: 'loading', catalogue: null, catalogueState: 'loading', catalogueError: null,
               range: '24h', chartsAt: 0, busy: false, again: null };

  // ---- sections -------------------------------------------------------------
  const head = createHeader(st);
  const banner = createDecisionBanner(st);
  const topError = h('p.banner.banner-warn', { role: 'alert', hidden: true });
  const trends = createTrends(st, id);
  const tox = createToxCard(st);
  const alerts = createAlertsCard(ctx, () => loadAlerts());
  const doses = createDoseCard(ctx, st, id, async () => {
    await Promise.all([loadDoses(), loadTox()]);
    renderAll();
  });
  const obsForm = ctx.can('nurse')
    ? createObsForm(st, id, () => refresh({ reason: 'local', charts: true }), () => refresh({ reason: 'local' }))
    : null;
  const baseline = createBaselineCard(ctx, st, id);
  const invalidUi = invalidCard({ ctx, patientId: id, onChanged: () => refresh({ reason: 'invalid', charts: true }) });

  root.append(h('div.patient-view',
    h('div.pt-head',
      h('a.back', { href: '#/board' }, icon('arrowLeft'), 'Board'),
      h('div.pt-id', head.title, head.meta), head.sched),
    topError, head.strip, banner.el,
    h('div.pt-grid',
      h('div.pt-main', trends.el),
      h('div.pt-side', tox.el, alerts.el, doses.el)),
    obsForm ? obsForm.el : null,
    invalidUi.el,
    baseline.el));
  const courses = mountCourses(root.querySelector('.pt-side'), ctx, id);

  // ---- loading --------------------------------------------------------------
  async function loadTox() {
    const r = await optional('toxicity', `/api/v1/patients/${id}/toxicity`);
    // A failure replaces what was shown: a decision that may be out of date
    // is not left on screen as if it were current.
    st.tox = r.ok ? r.data : null;
    st.toxState = stateOf(r);
    st.toxError = r.ok ? null : r.error;
  }
  async function loadDoses() {
    const r = await optional('doses', `/api/v1/patients/${id}/doses`);
    st.doses = r.ok ? r.data : null;
    st.dosesState = stateOf(r);
    st.dosesError = r.ok ? null : r.error;
  }
  async function loadAlerts() {
    const r = await optional('alerts', `/api/v1/alerts?${new URLSearchParams({ patient: String(id), state: 'all' })}`);
    st.alerts = r.ok ? (r.data.alerts || []) : null;
    st.alertsState = stateOf(r);
    st.alertsError = r.ok ? null : r.error;
    if (st.alive) alerts.render(st);
  }
  async function loadRules() {
    const r = await optional('rules', '/api/v1/rules');
    st.rulesState = stateOf(r);
    st.bands = r.ok ? ruleBands(r.data) : [];
  }
  // Fetched once per page load (js/catalogue.js); asked again after a failure.
  async function loadCodes() {
    if (st.catalogueState === 'ok') return;
    try {
      st.catalogue = await loadCatalogue();
      st.catalogueState = 'ok';
      st.catalogueError = null;
    } catch (e) {
      st.catalogueState = 'error';
      st.catalogueError = e;
    }
  }
  async function loadCore() {
    const [p, ward] = await Promise.all([get(`/api/v1/patients/${id}`), get('/api/v1/ward')]);
    st.patient = p;
    st.fetchedAt = Date.now();
    st.bed = (ward.beds || []).find((b) => b.patient && b.patient.id === id) || null;
    ctx.markUpdated();
  }

  // ---- rendering and refresh ------------------------------------------------
  // Sections are rebuilt only when their data changed, so open <details>,
  // focus and scroll position survive refreshes.
  const seen = { tox: null, doses: null };
  function renderAll() {
    head.renderHead(); head.renderStrip(); alerts.render(st); courses.update(st.tox);
    const toxKey = `${st.toxState}|${JSON.stringify(st.tox && { ...st.tox, at: null })}`;
    if (toxKey !== seen.tox) {
      seen.tox = toxKey;
      // Rebuilt, but what the reader had opened stays open.
      const open = new Set([...root.querySelectorAll('details[data-keep][open]')].map((d) => d.dataset.keep));
      banner.render(); tox.render();
      for (const d of root.querySelectorAll('details[data-keep]')) if (open.has(d.dataset.keep)) d.open = true;
    }
    const doseKey = `${st.dosesState}|${JSON.stringify(st.doses)}`;
    if (doseKey !== seen.doses) { seen.doses = doseKey; doses.render(); }
    doses.sync();
    baseline.update();
    if (obsForm) obsForm.render();
  }

  async function refresh(why = {}) {
    if (st.busy) { st.again = why; return; }
    st.busy = true;
    try {
      if (why.reason === 'events' && why.events.length && !why.events.some((e) => isAbout(e, id))) return;
      const first = why.reason === 'mount';
      await Promise.all([loadCore(), loadTox(), loadDoses(), loadAlerts(), loadCodes(),
        first || st.rulesState === 'error' ? loadRules() : null, invalidUi.load()]);
      if (!st.alive) return;
      topError.hidden = true;
      if (first) setText(document.querySelector('title'), `${st.patient.name} · wardd`);
      renderAll();
      const gap = why.reason === 'poll' ? 30000 : 5000;
      if (first || why.charts || Date.now() - st.chartsAt > gap) await trends.load();
    } catch (e) {
      if (!st.alive || e.status === 401) return;
      topError.hidden = false;
      clear(topError).append(icon('warn'), h('span', e.status === 404 ? `No patient ${id}.` : `Could not load: ${e.describe ? e.describe() : e.message}`));
    } finally {
      st.busy = false;
      if (st.again && st.alive) { const w = st.again; st.again = null; refresh(w); }
    }
  }

  refresh({ reason: 'mount' });
  return {
    title: 'Patient',
    refresh,
    tick() { head.renderStrip(); alerts.tick(); },
    unmount() {
      st.alive = false;
      trends.destroy();
    },
  };
}
