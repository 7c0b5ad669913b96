// Bed board: one tile per bed, built once and updated in place. An empty
// bed's tile offers admission (nurse and up); an occupied bed's shows the
// patient, schedule, decision and its top reason, highest grade, active
// alerts, five vital signs with their age, and the bed's devices.

import { h, setText, setClass, setPrefixedClass, setIcon, icon } from '../../dom.js';
import {
  gradeInfo, decisionInfo, normDecision, scheduleText, staleness, fmtAge, fmtValue, unitWord, DEVICE_SILENT_S,
} from '../../format.js';

const VITALS = [
  { key: 'hr', label: 'HR', codes: ['hr'] },
  { key: 'bp', label: 'BP', codes: ['sbp', 'dbp'] },
  { key: 'spo2', label: 'SpO₂', codes: ['spo2'] },
  { key: 'temp', label: 'Temp', codes: ['temp'] },
  { key: 'rr', label: 'RR', codes: ['rr'] },
];

function buildEmptyTile(t, bed, canAdmit) {
  t.el = h(canAdmit ? 'a.tile.tile-empty' : 'div.tile.tile-empty',
    canAdmit ? { href: `#/admin/patients?bed=${encodeURIComponent(bed.bed)}`, dataset: { bed: bed.bed } }
      : { dataset: { bed: bed.bed } });
  t.label = h('span.bed-label');
  t.dev = h('span.dev-text');
  t.devIcon = h('span.dev-icon');
  t.el.append(
    h('div.tile-head', t.label, h('span.pt-name.muted', 'Empty bed')),
    h('div.tile-empty-body', icon('bed', 'icon-xl'), h('span', canAdmit ? 'Admit a patient' : 'No patient')),
    h('div.tile-foot', h('span.dev', t.devIcon, t.dev)));
  return t;
}

function buildVitals(t) {
  const vit = h('div.vitals');
  for (const v of VITALS) {
    const cell = { val: h('span.val'), unit: h('span.unit'), age: h('span.age') };
    cell.el = h('div.vital', { dataset: { code: v.key } },
      h('span.vhead', h('span.vlabel', v.label), cell.unit), h('span.vline', cell.val), cell.age);
    t.vit[v.key] = cell;
    vit.append(cell.el);
  }
  return vit;
}

// still: a wall display's tile, which leads nowhere (kiosk.js).
export function buildTile(bed, canAdmit, still = false) {
  const p = bed.patient;
  const t = { id: bed.bed, patientId: p ? p.id : null, vit: {} };
  if (!p) return buildEmptyTile(t, bed, canAdmit && !still);
  t.el = still ? h('div.tile', { dataset: { bed: bed.bed, patient: String(p.id) } })
    : h('a.tile', { href: `#/patient/${p.id}`, dataset: { bed: bed.bed, patient: String(p.id) } });
  t.label = h('span.bed-label');
  t.name = h('span.pt-name');
  t.sched = h('span.sched');
  t.decIcon = h('span.dec-icon');
  t.decText = h('span.dec-text');
  t.dec = h('span.decision', t.decIcon, t.decText);
  t.gradeNum = h('span.grade-num');
  t.gradeWord = h('span.grade-word');
  t.grade = h('span.grade', h('span.grade-k', { 'aria-hidden': 'true' }, 'G'), h('span.sr', 'highest grade '), t.gradeNum, t.gradeWord);
  t.alerts = h('span.alert-n');
  t.alertChip = h('span.chip-alerts', icon('bell'), t.alerts, h('span.sr', ' active alerts'));
  t.reason = h('p.reason');
  const vit = buildVitals(t);
  t.dev = h('span.dev-text');
  t.devIcon = h('span.dev-icon');
  t.el.append(
    h('div.tile-head', t.label, t.name),
    h('div.tile-sub', t.sched, t.grade, t.alertChip),
    h('div.tile-status', t.dec),
    t.reason, vit,
    h('div.tile-foot', h('span.dev', t.devIcon, t.dev)));
  return t;
}

// The decision and its top reason: the ward's, else /toxicity's (x).
function updateDecision(t, bed, x) {
  let dec = normDecision(bed.decision);
  if (!dec.action && x.decision) dec = normDecision(x.decision);
  const top = dec.top || (x.decision ? normDecision(x.decision).top : null);
  const di = decisionInfo(dec.action);
  setPrefixedClass(t.dec, 'dec-', di.cls);
  setIcon(t.decIcon, di.icon);
  setText(t.decText, di.text);
  setPrefixedClass(t.el, 'sev-', `sev-${di.cls.slice(4)}`);
  setText(t.reason, dec.action ? (top || (dec.action === 'give' ? 'No rule asks to hold' : '')) : 'Grades and dose decision not evaluated');
  setClass(t.reason, 'muted', !dec.action || !top);
}

function updateGrade(t, bed, x) {
  const maxGrade = Number.isInteger(bed.max_grade) ? bed.max_grade : x.maxGrade;
  const gi = gradeInfo(maxGrade);
  setPrefixedClass(t.grade, 'grade-', gi.cls);
  setText(t.gradeNum, gi.num);
  setText(t.gradeWord, gi.short);
  t.grade.title = gi.grade === null ? 'Highest current grade: not evaluated' : `Highest current CTCAE grade: ${gi.num} (${gi.word})`;
}

// ageOf(latestValue) -> seconds since the reading, counted on from the fetch.
function updateVitals(t, bed, ageOf) {
  const latest = bed.latest || {};
  for (const v of VITALS) {
    const c = t.vit[v.key];
    const items = v.codes.map((code) => latest[code]);
    const ages = items.map(ageOf).filter((a) => a !== null);
    const age = ages.length ? Math.max(...ages) : null;
    const s = staleness(age);
    let text;
    if (s === 'none' || s === 'old') text = '—';
    else if (v.key === 'bp') text = `${fmtValue('sbp', items[0] && items[0].value)}/${fmtValue('dbp', items[1] && items[1].value)}`;
    else text = fmtValue(v.codes[0], items[0].value);
    setText(c.val, text);
    const u = items.find(Boolean);
    setText(c.unit, s === 'none' || s === 'old' ? '' : v.key === 'bp' ? 'mmHg' : unitWord(u && u.unit));
    setText(c.age, s === 'none' ? 'no data' : s === 'old' ? 'no recent data' : s === 'stale' ? `stale · ${fmtAge(age)}` : fmtAge(age));
    setPrefixedClass(c.el, 'is-', `is-${s}`);
  }
}

// skewMs: server clock minus browser clock, for the devices' last_seen.
function updateDevices(t, bed, skewMs) {
  const devs = Array.isArray(bed.devices) ? bed.devices : [];
  if (!devs.length) {
    setText(t.dev, 'No device assigned');
    setIcon(t.devIcon, 'info');
    setPrefixedClass(t.dev.parentNode, 'dev-', 'dev-none');
    return;
  }
  // The least recently heard device decides the bed's freshness.
  let worst = null, worstAge = -1;
  for (const d of devs) {
    const age = d.last_seen ? (Date.now() + skewMs - Date.parse(d.last_seen)) / 1000 : Infinity;
    if (age > worstAge) { worst = d; worstAge = age; }
  }
  const more = devs.length > 1 ? ` +${devs.length - 1}` : '';
  let text, cls, ic;
  if (worstAge === Infinity) { text = `${worst.serial}${more} · no contact yet`; cls = 'dev-none'; ic = 'info'; }
  else if (worstAge > DEVICE_SILENT_S) { text = `${worst.serial}${more} · silent ${fmtAge(worstAge)}`; cls = 'dev-silent'; ic = 'warn'; }
  else { text = `${worst.serial}${more} · seen ${fmtAge(worstAge)} ago`; cls = 'dev-ok'; ic = 'pulse'; }
  setText(t.dev, text);
  setIcon(t.devIcon, ic);
  setPrefixedClass(t.dev.parentNode, 'dev-', cls);
}

// view: {extra (patient id -> /toxicity summary), skewMs, ageOf}.
export function updateTile(t, bed, view) {
  setText(t.label, bed.label || bed.bed);
  updateDevices(t, bed, view.skewMs);
  if (!bed.patient) return;
  const x = view.extra.get(bed.patient.id) || {};
  setText(t.name, bed.patient.name);
  // No aria-label: the link's accessible name is its visible text (WCAG
  // 2.1 SC 2.5.3 Label in Name; axe label-content-name-mismatch).
  const sched = scheduleText(bed.schedule || x.schedule);
  setText(t.sched, sched || 'Schedule not evaluated');
  setClass(t.sched, 'muted', !sched);
  updateDecision(t, bed, x);
  updateGrade(t, bed, x);
  updateVitals(t, bed, view.ageOf);
  const n = Number.isInteger(bed.active_alerts) ? bed.active_alerts : 0;
  setText(t.alerts, String(n));
  t.alertChip.title = `${n} active alert${n === 1 ? '' : 's'}`;
  setClass(t.alertChip, 'has-alerts', n > 0);
}
