// Shift handover (#/handover for the ward, #/handover/{id} for one
// patient; ?hours=8|12): GET /api/v1/handover. Per patient, what the
// outgoing nurse tells the incoming one: the dose decision now and why,
// the decision at the start of the shift, grades that changed, doses given
// and held, alerts and how each ended, and the vital signs' trend. Laid
// out for print (web/css/app.css "Handover"): one patient a page.

import { get } from '../api.js';
import { h, append, clear, icon, statusLine, showStatus } from '../dom.js';
import { decisionInfo, fmtDateTime, fmtValue, codeLabel } from '../format.js';
import { loadCatalogue } from '../catalogue.js';
import { dataTable, priorityBadge } from '../components.js';

const HOURS = [8, 12];

function decisionBlock(p) {
  const d = p.decision || {};
  const now = decisionInfo(d.action);
  const before = decisionInfo(p.decision_at_start);
  const reasons = (d.reasons || []).map((r) => h('li', r.text, r.source ? h('span.muted', ` (${r.source})`) : null));
  return h('div.ho-decision',
    h('p.ho-line', h('strong', 'Decision now: '), h(`span.decision.${now.cls}`, icon(now.icon), now.text),
      h('span.muted', ` · at the start of the window: ${before.text}`)),
    reasons.length ? h('ul.ho-reasons', { 'aria-label': 'Reasons' }, reasons) : h('p.muted', 'No rule asks to hold or stop.'));
}

function gradesBlock(p) {
  if (!p.grades || !p.grades.length) return h('p.muted', 'No CTCAE grade changed.');
  return h('ul.ho-grades', p.grades.map((g) => h('li', `${g.label}: grade ${g.from === null ? '–' : g.from} → ${g.to === null ? '–' : g.to}`,
    g.since ? h('span.muted', ` (since ${fmtDateTime(g.since)})`) : null)));
}

function dosesBlock(p) {
  if (!p.doses || !p.doses.length) return h('p.muted', 'No dose recorded in this window.');
  return dataTable([
    { label: 'Time', cell: (d) => fmtDateTime(d.time) },
    { label: 'Dose', cell: (d) => (d.status === 'given' ? 'Given' : 'Held') },
    { label: 'Decision then', cell: (d) => decisionInfo(d.decision).text },
    { label: 'Reason', cell: (d) => d.override_reason ? `Override: ${d.override_reason}` : (d.reason || '—') },
    { label: 'By', cell: (d) => d.recorded_by || '—' },
  ], p.doses, { cls: 'ho-doses' });
}

function ending(a) {
  if (a.state === 'resolved') return `Resolved ${fmtDateTime(a.resolved_at)}${a.resolution ? ` (${a.resolution})` : ''}${a.acked_by ? `; acknowledged by ${a.acked_by}` : ''}`;
  if (a.state === 'acknowledged') return `Acknowledged by ${a.acked_by} ${fmtDateTime(a.acked_at)}${a.ack_note ? `: “${a.ack_note}”` : ''}`;
  return 'Still active, not acknowledged';
}

function alertsBlock(p) {
  if (!p.alerts || !p.alerts.length) return h('p.muted', 'No alert in this window.');
  return h('ul.ho-alerts', p.alerts.map((a) => h('li', priorityBadge(a.priority), ' ', a.message,
    h('span.muted', ` · raised ${fmtDateTime(a.raised_at)} · `), ending(a))));
}

function vitalsBlock(p) {
  if (!p.vitals || !p.vitals.length) return h('p.muted', 'No readings in this window.');
  const v = (code, x) => `${fmtValue(code, x)}`;
  return dataTable([
    { label: 'Vital sign', cell: (x) => codeLabel(x.code) },
    { label: 'First → last', cell: (x) => `${v(x.code, x.first)} → ${v(x.code, x.last)}` },
    { label: 'Range', cell: (x) => `${v(x.code, x.min)}–${v(x.code, x.max)}` },
    { label: 'Readings', cell: (x) => String(x.n) },
  ], p.vitals, { cls: 'ho-vitals' });
}

function patientSection(p, hours) {
  const pt = p.patient;
  const id = `ho-p-${pt.id}`;
  return h('section.card.handover-patient', { 'aria-labelledby': id, dataset: { patient: String(pt.id) } },
    h('div.card-head', h(`h2#${id}`, `${pt.bed ? `${pt.bed} · ` : ''}${pt.name}`),
      h('span.muted', `MRN ${pt.mrn}`), h('a.ho-one.no-print', { href: `#/handover/${pt.id}?hours=${hours}` }, `Only ${pt.name}`)),
    decisionBlock(p),
    h('h3', 'Grades that changed'), gradesBlock(p),
    h('h3', 'Doses'), dosesBlock(p),
    h('h3', 'Alerts and how they ended'), alertsBlock(p),
    h('h3', 'Vital signs'), vitalsBlock(p));
}

export function mount(root, ctx, params) {
  const hours = HOURS.includes(Number(params.query.hours)) ? Number(params.query.hours) : 12;
  const st = { alive: true };
  const base = params.id ? `#/handover/${params.id}` : '#/handover';
  const seg = h('div.segmented.no-print', { role: 'group', 'aria-label': 'Window' }, h('span.seg-label', 'Last'),
    HOURS.map((n) => h('a.seg', { href: `${base}?hours=${n}`, 'aria-current': n === hours ? 'true' : null }, `${n} h`)));
  const print = h('button#handover-print.btn.no-print', { type: 'button', onclick: () => window.print() }, 'Print');
  const when = h('p.board-summary');
  const status = statusLine();
  const list = h('div.handover-list');
  root.append(h('section.handover-view', { 'aria-labelledby': 'ho-title' },
    h('div.board-bar', h('h1#ho-title', { tabindex: '-1' }, params.id ? 'Handover: one patient' : 'Shift handover'), when, seg, print),
    params.id ? h('p.no-print', h('a', { href: `#/handover?hours=${hours}` }, 'Whole ward')) : null,
    status, list));

  async function refresh() {
    try {
      const [r] = await Promise.all([
        get(`/api/v1/handover?hours=${hours}${params.id ? `&patient=${params.id}` : ''}`),
        loadCatalogue().catch(() => null)]);
      if (!st.alive) return;
      when.textContent = `${fmtDateTime(r.from)} – ${fmtDateTime(r.to)} · ${r.patients.length} patient${r.patients.length === 1 ? '' : 's'}`;
      append(clear(list), [r.patients.length ? r.patients.map((p) => patientSection(p, hours))
        : h('p.empty-big', icon('check'), h('span', 'No admitted patient.'))]);
      ctx.markUpdated();
    } catch (e) {
      if (e.status !== 401) showStatus(status, 'error', `Could not load the handover: ${e.describe ? e.describe() : e.message}`);
    }
  }
  refresh();
  // No live refresh: a handover is read (and printed) as of one moment.
  return { title: 'Handover', unmount() { st.alive = false; } };
}
