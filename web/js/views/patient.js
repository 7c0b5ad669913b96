// Patient view (#/patient/{id}): latest values, the dose decision with every
// reason, trend charts with rule thresholds and dose times, the toxicity
// table, the dose log with "record dose" (and the physician override),
// the patient's alerts, nurse entry of observations, and baselines.

import { get, post, patch, optional } from '../api.js';
import { h, clear, setText, setClass, setPrefixedClass, icon, statusLine, showStatus } from '../dom.js';
import {
  gradeInfo, decisionInfo, normDecision, scheduleText, staleness, fmtAge, fmtValue, unitWord,
  fmtTime, fmtDateTime, toLocalInput, fromLocalInput, yearsBetween, urineRates, ruleBands, codeLabel,
} from '../format.js';
import { gradeBadge, decisionBadge, alertList, evidenceText, dataTable, pendingNote, kvTable } from '../components.js';
import { CHARTS, TrendChart } from '../charts.js';
import { invalidCard } from './patient_invalid.js';

const RANGES = [
  { key: '6h', label: '6 h', ms: 6 * 3600e3, buckets: 72 },
  { key: '24h', label: '24 h', ms: 24 * 3600e3, buckets: 96 },
  { key: 'cycle', label: 'Whole cycle', ms: null, buckets: 160 },
];

const STRIP = [
  { key: 'hr', label: 'HR', codes: ['hr'] },
  { key: 'bp', label: 'BP', codes: ['sbp', 'dbp'] },
  { key: 'map', label: 'MAP', codes: ['map'] },
  { key: 'spo2', label: 'SpO₂', codes: ['spo2'] },
  { key: 'temp', label: 'Temp', codes: ['temp'] },
  { key: 'rr', label: 'RR', codes: ['rr'] },
  { key: 'o2', label: 'O₂', codes: ['o2_flow'] },
  { key: 'urine', label: 'Urine', codes: ['urine'] },
  { key: 'weight', label: 'Weight', codes: ['weight'] },
  { key: 'consciousness', label: 'ACVPU', codes: ['consciousness'] },
];
// Vitals go stale after 15 min; weight and labs are judged on a day.
const DAILY = new Set(['weight', 'urine']);

// Observation entry: code, unit choices (first = canonical), step.
const OBS_GROUPS = [
  { title: 'Vital signs', open: true, items: [
    ['hr', ['/min'], 1], ['sbp', ['mm[Hg]'], 1], ['dbp', ['mm[Hg]'], 1], ['map', ['mm[Hg]'], 1],
    ['spo2', ['%'], 1], ['temp', ['Cel', '[degF]'], 0.1], ['rr', ['/min'], 1],
    ['o2_flow', ['L/min'], 0.5], ['fio2', ['%'], 1]] },
  { title: 'Fluids and weight', open: true, items: [
    ['urine', ['mL'], 1], ['weight', ['kg', '[lb_av]'], 0.1], ['diarrhea_ml', ['mL'], 1],
    ['stool_count', ['{stools}'], 1]] },
  { title: 'Cardiovascular', open: false, items: [
    ['phenylephrine', ['ug/kg/min', 'ug/min'], 0.01], ['vt_beats', ['{beats}'], 1]] },
  { title: 'Laboratory', open: false, items: [
    ['creatinine', ['mg/dL', 'umol/L'], 0.01], ['bilirubin', ['mg/dL', 'umol/L'], 0.01],
    ['ast', ['U/L'], 1], ['alt', ['U/L'], 1], ['platelets', ['10*3/uL'], 1],
    ['potassium', ['mmol/L'], 0.1], ['bicarbonate', ['mmol/L'], 1], ['ph', ['[pH]'], 0.01],
    ['lactate', ['mmol/L'], 0.1]] },
];
const CATEGORICAL = [
  ['rhythm', [['sinus', 'Sinus'], ['af', 'Atrial fibrillation'], ['svt', 'SVT'], ['vt', 'VT'], ['brady', 'Bradycardia'], ['other', 'Other']]],
  ['consciousness', [['A', 'A — alert'], ['C', 'C — new confusion'], ['V', 'V — voice'], ['P', 'P — pain'], ['U', 'U — unresponsive']]],
  ['fobt', [['negative', 'Negative'], ['positive', 'Positive']]],
];
const FLAGS = [
  'intubated', 'dialysis', 'coma', 'toxic_psychosis', 'seizures_repetitive', 'ecg_ischemia',
  'chest_pain', 'cardiac_tamponade', 'arrhythmia_uncontrolled', 'cardiac_enzymes_elevated',
  'bowel_ischemia', 'gi_bleed_surgery', 'sepsis_unstable', 'infection', 'hepatic_failure',
  'bullous_dermatitis', 'volume_overload_severe', 'fluid_electrolytes_stable', 'hallucinations',
];
// CLINICAL.md "Term identifiers" (the toxicity response's labels win when present).
const TERMS = [
  'fever', 'hypotension', 'hypertension', 'sinus_tachycardia', 'atrial_fibrillation',
  'supraventricular_tachycardia', 'ventricular_tachycardia', 'hypoxia', 'creatinine_increased',
  'acute_kidney_injury', 'blood_bilirubin_increased', 'aspartate_aminotransferase_increased',
  'alanine_aminotransferase_increased', 'platelet_count_decreased', 'weight_gain', 'edema_limbs',
  'capillary_leak_syndrome', 'confusion', 'somnolence', 'depressed_level_of_consciousness',
  'hypokalemia', 'hyperkalemia', 'acidosis', 'diarrhea', 'nausea', 'vomiting', 'chills',
  'urine_output_decreased',
];
const BASELINE = [
  ['weight_kg', 'Weight', 'kg', 0.1], ['creatinine_mg_dl', 'Creatinine', 'mg/dL', 0.01],
  ['bilirubin_mg_dl', 'Bilirubin', 'mg/dL', 0.01], ['ast_u_l', 'AST', 'U/L', 1],
  ['alt_u_l', 'ALT', 'U/L', 1], ['sbp_mm_hg', 'Systolic BP', 'mmHg', 1],
  ['stools_per_day', 'Stools per day', '/day', 1],
];
const REF_RANGES = [
  ['creatinine_uln', 'Creatinine ULN', 'mg/dL'], ['bilirubin_uln', 'Bilirubin ULN', 'mg/dL'],
  ['ast_uln', 'AST ULN', 'U/L'], ['alt_uln', 'ALT ULN', 'U/L'], ['platelets_lln', 'Platelets LLN', '×10³/µL'],
  ['potassium_lln', 'Potassium LLN', 'mmol/L'], ['potassium_uln', 'Potassium ULN', 'mmol/L'],
  ['ph_lln', 'pH LLN', ''], ['ph_uln', 'pH ULN', ''],
];

const human = (s) => String(s || '').replace(/_/g, ' ');

// A time field showing "now"; until someone edits it, the form uses the
// moment it is saved (the field only has minutes).
function setNow(input) {
  input.value = toLocalInput();
  input.dataset.auto = '1';
}

export function mount(root, ctx, params) {
  const id = Number(params.id);
  const st = { alive: true, patient: null, bed: null, fetchedAt: 0, tox: null, toxState: 'loading',
               doses: null, dosesState: 'loading', alerts: null, alertsState: 'loading',
               bands: [], rulesState: 'loading', range: '24h', chartsAt: 0, busy: false, again: null,
               charts: [] };
  try { const r = localStorage.getItem('wardd.range'); if (RANGES.some((x) => x.key === r)) st.range = r; } catch (e) { /* */ }

  // ---- skeleton ---------------------------------------------------------------
  const title = h('h1#pt-title', { tabindex: '-1' }, 'Patient');
  const meta = h('p.pt-meta');
  const sched = h('p.pt-sched');
  const strip = h('div.strip', { 'aria-label': 'Latest values' });
  const stripCells = {};
  for (const s of STRIP) {
    const c = { val: h('span.val'), unit: h('span.unit'), age: h('span.age') };
    c.el = h('div.scell', { dataset: { code: s.key } }, h('span.vlabel', s.label), h('span.vline', c.val, c.unit), c.age);
    stripCells[s.key] = c;
    strip.append(c.el);
  }
  const banner = h('section.decision-banner', { 'aria-labelledby': 'dec-h' });
  const topError = h('p.banner.banner-warn', { role: 'alert', hidden: true });

  const rangeBtns = RANGES.map((r) => h('button.seg', {
    type: 'button', 'aria-pressed': String(r.key === st.range), dataset: { range: r.key },
    onclick: () => {
      st.range = r.key;
      try { localStorage.setItem('wardd.range', r.key); } catch (e) { /* */ }
      for (const b of rangeBtns) b.setAttribute('aria-pressed', String(b.dataset.range === r.key));
      loadCharts().catch(() => {});
    },
  }, r.label));
  const chartNote = h('p.chart-note');
  const chartGrid = h('div.chart-grid');
  for (const def of CHARTS) {
    const c = new TrendChart(def);
    st.charts.push(c);
    chartGrid.append(c.el);
  }
  const trends = h('section.card.trends', { 'aria-labelledby': 'trends-h' },
    h('div.card-head', h('h2#trends-h', 'Trends'),
      h('div.segmented', { role: 'group', 'aria-label': 'Time range' }, h('span.seg-label', 'Range'), rangeBtns)),
    chartNote, chartGrid);

  const toxBody = h('div.tox-body');
  const toxMeta = h('p.card-meta');
  const toxCard = h('section.card.tox', { 'aria-labelledby': 'tox-h' }, h('div.card-head', h('h2#tox-h', 'Toxicity (CTCAE v5.0)'), toxMeta), toxBody);

  const alertsStatus = h('div.alerts-body');
  const alertsUi = alertList({ ctx, showPatient: false, emptyText: 'No alerts for this patient.',
                               onChanged: () => loadAlerts() });
  const alertsCard = h('section.card.pt-alerts', { 'aria-labelledby': 'pta-h' },
    h('div.card-head', h('h2#pta-h', 'Alerts'), h('a.card-link', { href: '#/alerts' }, 'All ward alerts')), alertsStatus);

  const doseBody = h('div.dose-body');
  const doseForm = buildDoseForm();
  const doseCard = h('section.card.doses', { 'aria-labelledby': 'dose-h' },
    h('div.card-head', h('h2#dose-h', 'Dose log')), doseBody, doseForm ? doseForm.el : null);

  const obsForm = ctx.can('nurse') ? buildObsForm() : null;
  const baseCard = h('section.card.baseline', { 'aria-labelledby': 'base-h' });
  const invalidUi = invalidCard({ ctx, patientId: id, onChanged: () => refresh({ reason: 'invalid', charts: true }) });

  root.append(h('div.patient-view',
    h('div.pt-head',
      h('a.back', { href: '#/board' }, icon('arrowLeft'), 'Board'),
      h('div.pt-id', title, meta), sched),
    topError, strip, banner,
    h('div.pt-grid',
      h('div.pt-main', trends),
      h('div.pt-side', toxCard, alertsCard, doseCard)),
    obsForm ? obsForm.el : null,
    invalidUi.el,
    baseCard));

  // ---- header and latest values -----------------------------------------------
  function renderHead() {
    const p = st.patient;
    if (!p) return;
    setText(title, p.name);
    const age = yearsBetween(p.birth_date);
    const bits = [p.bed ? `Bed ${p.bed.replace(/^B/, '')}` : 'No bed', p.mrn,
      [age !== null ? `${age} y` : null, p.sex].filter(Boolean).join(' '),
      p.diagnosis ? (p.diagnosis === 'rcc' ? 'RCC' : human(p.diagnosis)) : null,
      p.status === 'discharged' ? `discharged ${fmtDateTime(p.discharged_at)}` : `admitted ${fmtDateTime(p.admitted_at)}`];
    setText(meta, bits.filter(Boolean).join(' · '));
    const s = st.tox && st.tox.schedule;
    const text = scheduleText(s);
    clear(sched);
    if (text) {
      sched.append(h('span.sched-main', text));
      if (s.next_dose_at) {
        const due = Date.parse(s.next_dose_at) <= Date.now();
        sched.append(h('span.sched-next', due ? `dose due (slot ${fmtTime(s.next_dose_at)})` : `next dose ${fmtTime(s.next_dose_at)}`));
      }
    } else {
      sched.append(h('span.sched-main.muted', 'Schedule not evaluated'));
    }
  }

  function stripAge(v) {
    if (!v || typeof v.age_s !== 'number') return null;
    return v.age_s + (Date.now() - st.fetchedAt) / 1000;
  }

  function renderStrip() {
    const latest = (st.bed && st.bed.latest) || {};
    for (const s of STRIP) {
      const c = stripCells[s.key];
      const items = s.codes.map((code) => latest[code]);
      const ages = items.map(stripAge).filter((a) => a !== null);
      const age = ages.length ? Math.max(...ages) : null;
      let state = staleness(age);
      if (DAILY.has(s.key) && state !== 'none') state = age > 86400 ? 'old' : 'fresh';
      if (s.key === 'consciousness' && state !== 'none') state = age > 86400 ? 'old' : state;
      let val = '—', unit = '';
      if (state !== 'none' && state !== 'old') {
        if (s.key === 'bp') { val = `${fmtValue('sbp', items[0] && items[0].value)}/${fmtValue('dbp', items[1] && items[1].value)}`; unit = 'mmHg'; }
        else { val = fmtValue(s.codes[0], items[0].value); unit = unitWord(items[0].unit); }
      }
      setText(c.val, val);
      setText(c.unit, unit);
      setText(c.age, state === 'none' ? 'no data' : state === 'old' ? 'no recent data' : state === 'stale' ? `stale · ${fmtAge(age)}` : fmtAge(age));
      setPrefixedClass(c.el, 'is-', `is-${state}`);
    }
    strip.hidden = !st.bed;
  }

  // ---- decision banner --------------------------------------------------------------
  function renderBanner() {
    clear(banner);
    const head = h('div.banner-head', h('h2#dec-h', 'Next dose'));
    banner.append(head);
    if (st.toxState !== 'ok') {
      setPrefixedClass(banner, 'sev-', 'sev-na');
      banner.append(h('div.banner-body', decisionBadge(null, { big: true }),
        h('p.muted', st.toxState === 'loading' ? 'Loading…'
          : 'The dose decision is not evaluated: this server does not provide toxicity grading yet. Decide from the values and charts below.')));
      return;
    }
    const t = st.tox;
    const d = normDecision(t.decision);
    const di = decisionInfo(d.action);
    setPrefixedClass(banner, 'sev-', `sev-${di.cls.slice(4)}`);
    const reasons = h('ol.reasons');
    for (const r of d.reasons) {
      reasons.append(h('li.reason-item',
        h('p.reason-text', r.class ? h(`span.tag.tag-${r.class}`, r.class) : null, ' ', r.text || r.rule),
        h('p.reason-meta', [
          r.action ? `asks: ${human(r.action)}` : null,
          r.rule ? `rule ${r.rule}` : null,
          r.since ? `since ${fmtTime(r.since)}` : null,
        ].filter(Boolean).join(' · ')),
        r.source ? h('p.reason-src.clamp2', { title: r.source }, `Source: ${r.source}`) : null,
        Array.isArray(r.evidence) && r.evidence.length ? h('p.reason-ev', `Evidence: ${evidenceText(r.evidence)}`) : null,
        r.resume ? h('p.reason-resume', `Resumes when: ${r.resume}`) : null));
    }
    const missing = Array.isArray(t.decision && t.decision.missing) ? t.decision.missing : [];
    const ne = Array.isArray(t.decision && t.decision.not_evaluated) ? t.decision.not_evaluated : [];
    const extra = [];
    if (missing.length) extra.push(h('p.reason-missing', icon('question'), h('span', `No recent value for: ${missing.map(codeLabel).join(', ')} (needed within 4 h).`)));
    if (ne.length) {
      extra.push(h('details.not-eval', { dataset: { keep: 'not-eval' } }, h('summary', `${ne.length} rule${ne.length === 1 ? '' : 's'} not evaluated (data missing)`),
        h('ul', ne.map((n) => h('li', `${n.rule}: missing ${(n.missing || []).join(', ') || '—'}`)))));
    }
    const side = [];
    if (t.news2) {
      const n = t.news2;
      side.push(h('p.score', h('span.score-k', 'NEWS2'), h('span.score-v', n.score !== null && n.score !== undefined ? String(n.score) : `≥${n.partial_score ?? '?'}`),
        h('span.score-w', n.risk ? `${n.risk} risk` : ''), n.complete === false ? h('span.muted', ' (incomplete)') : null));
    }
    if (t.kdigo) {
      side.push(h('p.score', h('span.score-k', 'KDIGO'), h('span.score-v', t.kdigo.stage !== null && t.kdigo.stage !== undefined ? `stage ${t.kdigo.stage}` : '—'),
        h('span.score-w', (t.kdigo.basis || []).join(', '))));
    }
    banner.append(h('div.banner-body',
      decisionBadge(d.action, { big: true }),
      h('div.banner-reasons',
        d.reasons.length ? reasons : h('p.muted', d.action === 'give' ? 'No rule asks to hold or stop the next dose.' : 'No reasons given.'),
        extra),
      side.length ? h('div.banner-scores', side) : null),
      h('p.banner-foot', `Recommendation only; a clinician decides. Rule set ${t.ruleset ? `${t.ruleset.name} v${t.ruleset.version}` : '—'}, evaluated ${fmtTime(t.at)}.`,
        ' ', h('a', { href: '#/admin/rules' }, 'View rules')));
  }

  // ---- toxicity table -----------------------------------------------------------------
  function renderTox() {
    clear(toxBody);
    if (st.toxState !== 'ok') {
      setText(toxMeta, '');
      toxBody.append(st.toxState === 'loading' ? h('p.muted', 'Loading…') : pendingNote('Toxicity grades'));
      return;
    }
    const terms = Array.isArray(st.tox.terms) ? [...st.tox.terms] : [];
    const score = (x) => (Number.isInteger(x.grade) ? x.grade * 10 : -10) + (Number.isInteger(x.max_grade) ? x.max_grade : 0);
    terms.sort((a, b) => score(b) - score(a) || String(a.label).localeCompare(String(b.label)));
    const shown = terms.filter((x) => (x.grade || 0) > 0 || (x.max_grade || 0) > 0 || (x.suggested && x.suggested.grade > 0));
    const rest = terms.filter((x) => !shown.includes(x));
    setText(toxMeta, `${shown.length} term${shown.length === 1 ? '' : 's'} graded above 0 this cycle · ${terms.length} in the rule set`);
    const cols = [
      { label: 'Term', cell: (x) => x.label || human(x.term) },
      { label: 'Grade', cell: (x) => h('span', gradeBadge(x.grade, { small: true }),
        x.grade === null && Array.isArray(x.missing) && x.missing.length ? h('span.sub', `needs ${x.missing.join(', ')}`) : null,
        Number.isInteger(x.clinician_grade) ? h('span.sub', `clinician ${x.clinician_grade}`) : null,
        x.suggested && x.suggested.grade ? h('span.sub.proxy', `suggested ${x.suggested.grade} (proxy, not used)`) : null) },
      { label: 'Since', cell: (x) => (x.since ? fmtTime(x.since) : '—') },
      { label: 'Max this cycle', cell: (x) => gradeBadge(x.max_grade, { small: true }) },
      { label: 'Evidence', cell: (x) => evidenceText(x.evidence), cls: 'ev' },
      { label: 'Source', cell: (x) => h('span.clamp', { title: x.source || '' }, x.source || '—'), cls: 'src' },
    ];
    toxBody.append(shown.length ? dataTable(cols, shown, { cls: 'tox-table' }) : h('p.muted', 'No term above grade 0 this cycle.'));
    if (rest.length) {
      toxBody.append(h('details.more', { dataset: { keep: 'tox-more' } }, h('summary', `${rest.length} more terms at grade 0 or not gradable`),
        dataTable(cols, rest, { cls: 'tox-table' })));
    }
  }

  // ---- dose log and record dose ---------------------------------------------------------
  function doseList() {
    const d = st.doses;
    if (Array.isArray(d)) return d;
    if (d && Array.isArray(d.doses)) return d.doses;
    return [];
  }

  function renderDoses() {
    clear(doseBody);
    if (st.dosesState !== 'ok') {
      doseBody.append(st.dosesState === 'loading' ? h('p.muted', 'Loading…') : pendingNote('The dose log is'));
      if (doseForm) doseForm.setAvailable(false);
      return;
    }
    if (doseForm) doseForm.setAvailable(true);
    const list = [...doseList()].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    if (!list.length) { doseBody.append(h('p.muted', 'No dose recorded yet.')); return; }
    doseBody.append(dataTable([
      { label: 'Time', cell: (x) => fmtTime(x.time) },
      { label: 'Dose', cell: (x) => (x.dose_in_cycle || x.dose_number || x.number ? `#${x.dose_in_cycle || x.dose_number || x.number}` : '—') },
      { label: 'Status', cell: (x) => h(`span.dose-status.dose-${x.status}`, icon(x.status === 'given' ? 'check' : 'pause'), h('span', x.status)) },
      { label: 'Reason', cell: (x) => [x.reason || '—', x.override_reason ? h('span.sub.override', `override: ${x.override_reason}`) : null] },
      { label: 'By', cell: (x) => x.recorded_by || x.by || x.user || x.entered_by || '—' },
    ], list.slice(0, 14), { cls: 'dose-table' }));
  }

  function buildDoseForm() {
    if (!ctx.can('nurse')) return null;
    const time = h('input#dose-time', { type: 'datetime-local', required: true });
    time.addEventListener('input', () => { delete time.dataset.auto; });
    const given = h('input#dose-given', { type: 'radio', name: 'dose-status', value: 'given', checked: true });
    const held = h('input#dose-held', { type: 'radio', name: 'dose-status', value: 'held' });
    const reason = h('input#dose-reason', { type: 'text', maxlength: '500', autocomplete: 'off' });
    const override = h('textarea#dose-override', { rows: '2', maxlength: '1000' });
    const overrideBox = h('div.override', { hidden: true },
      h('p.override-warn', icon('warn'), h('span.override-text')),
      h('label', { for: 'dose-override' }, 'Override reason (physician, audited)'), override);
    const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Record dose');
    const status = statusLine();
    const unavailable = h('p.muted', { hidden: true });
    const fs = h('fieldset.dose-fields',
      h('legend', 'Record dose'),
      h('div.field', h('label', { for: 'dose-time' }, 'Time'), time),
      h('div.field.radios', { role: 'radiogroup', 'aria-label': 'Dose status' },
        h('label.radio', { for: 'dose-given' }, given, 'Given'),
        h('label.radio', { for: 'dose-held' }, held, 'Held')),
      h('div.field', h('label', { for: 'dose-reason' }, 'Reason or note'), reason),
      overrideBox, h('div.form-actions', submit));
    const form = h('form.dose-form', { novalidate: true }, fs, unavailable, status);
    const against = () => {
      const a = st.tox && normDecision(st.tox.decision).action;
      return a === 'hold' || a === 'discontinue' || a === 'discontinue_course' ? a : null;
    };
    const sync = () => {
      const a = against();
      const isGiven = given.checked;
      const needs = isGiven && a;
      overrideBox.hidden = !needs;
      setText(overrideBox.querySelector('.override-text'), needs
        ? (ctx.can('physician')
          ? `The recommendation is ${decisionInfo(a).text}. Giving this dose overrides it: state why.`
          : `The recommendation is ${decisionInfo(a).text}. Only a physician can record a dose given against it.`)
        : '');
      override.disabled = !ctx.can('physician');
      override.required = !!needs && ctx.can('physician');
      submit.disabled = fs.disabled || (needs && !ctx.can('physician'));
    };
    given.addEventListener('change', sync);
    held.addEventListener('change', sync);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { time: time.dataset.auto ? new Date().toISOString() : fromLocalInput(time.value),
                     status: given.checked ? 'given' : 'held' };
      if (!body.time) { showStatus(status, 'error', 'Enter the time of the dose.'); return; }
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (given.checked && against()) {
        if (!override.value.trim()) { showStatus(status, 'error', 'An override needs a reason.'); override.focus(); return; }
        body.override_reason = override.value.trim();
      }
      submit.disabled = true;
      showStatus(status, 'busy', 'Recording…');
      try {
        await post(`/api/v1/patients/${id}/doses`, body);
        showStatus(status, 'ok', `Dose recorded as ${body.status} at ${fmtTime(body.time)}.`);
        reason.value = ''; override.value = '';
        setNow(time);
        await Promise.all([loadDoses(), loadTox()]);
        renderAll();
      } catch (e) {
        showStatus(status, 'error', `Not recorded: ${e.describe ? e.describe() : e.message}`);
      } finally { sync(); }
    });
    setNow(time);
    return {
      el: form,
      sync,
      setAvailable(ok) {
        fs.disabled = !ok;
        unavailable.hidden = ok;
        setText(unavailable, ok ? '' : 'Recording doses needs the dose log, which this server does not provide yet.');
        sync();
      },
    };
  }

  // ---- alerts -----------------------------------------------------------------------
  // Built once and updated in place: an open acknowledge form survives refreshes.
  const alertsPending = h('div', { hidden: true }, pendingNote('Alerts are'));
  const alertsLoading = h('p.muted', 'Loading…');
  const pastUi = alertList({ ctx, showPatient: false });
  const pastSummary = h('summary');
  const pastBox = h('details.more', { hidden: true }, pastSummary, pastUi.el);
  alertsStatus.append(alertsLoading, alertsPending, alertsUi.el, pastBox);
  function renderAlerts() {
    alertsLoading.hidden = st.alertsState !== 'loading';
    alertsPending.hidden = st.alertsState !== 'absent';
    alertsUi.el.hidden = st.alertsState !== 'ok';
    if (st.alertsState !== 'ok') { pastBox.hidden = true; return; }
    const all = Array.isArray(st.alerts) ? st.alerts : [];
    alertsUi.set(all.filter((a) => a.state === 'active'));
    const recent = all.filter((a) => a.state !== 'active').slice(0, 10);
    pastUi.set(recent);
    pastBox.hidden = !recent.length;
    setText(pastSummary, `${recent.length} acknowledged or resolved`);
  }

  // ---- observation entry ----------------------------------------------------------------
  function buildObsForm() {
    const inputs = [];
    // Left at its default, the time is taken when the form is saved.
    const time = h('input#obs-time', { type: 'datetime-local', required: true });
    const nowBtn = h('button.btn.btn-quiet', { type: 'button', onclick: () => setNow(time) }, 'Now');
    time.addEventListener('input', () => { delete time.dataset.auto; });
    const groups = OBS_GROUPS.map((g) => {
      const fields = g.items.map(([code, units, step]) => {
        const inp = h('input', { type: 'number', id: `obs-${code}`, name: code, step: String(step), inputmode: 'decimal', autocomplete: 'off' });
        let unitSel = null;
        if (units.length > 1) {
          unitSel = h('select', { id: `obs-${code}-unit`, 'aria-label': `${codeLabel(code)} unit` },
            units.map((u) => h('option', { value: u }, unitWord(u))));
        }
        inputs.push({ code, kind: 'num', inp, unitSel, canonical: units[0] });
        return h('div.field.obs-field', h('label', { for: `obs-${code}` }, codeLabel(code),
          units.length === 1 && unitWord(units[0]) ? h('span.unit', ` (${unitWord(units[0])})`) : null),
          h('div.inline', inp, unitSel));
      });
      return h('details.obs-group', { open: g.open }, h('summary', g.title), h('div.obs-grid', fields));
    });
    const cats = CATEGORICAL.map(([code, opts]) => {
      const sel = h('select', { id: `obs-${code}` }, h('option', { value: '' }, '— not recorded —'),
        opts.map(([v, t]) => h('option', { value: v }, t)));
      inputs.push({ code, kind: 'cat', inp: sel });
      return h('div.field.obs-field', h('label', { for: `obs-${code}` }, codeLabel(code)), sel);
    });
    const flags = FLAGS.map((f) => {
      const sel = h('select', { id: `obs-flag-${f}` }, h('option', { value: '' }, 'unchanged'),
        h('option', { value: 'true' }, 'present'), h('option', { value: 'false' }, 'absent'));
      inputs.push({ code: f, kind: 'flag', inp: sel });
      return h('div.field.obs-field', h('label', { for: `obs-flag-${f}` }, human(f)), sel);
    });
    const gradeRows = h('div.grade-rows');
    const termOptions = () => {
      const labels = new Map();
      if (st.tox && Array.isArray(st.tox.terms)) for (const t of st.tox.terms) labels.set(t.term, t.label || human(t.term));
      for (const t of TERMS) if (!labels.has(t)) labels.set(t, human(t));
      return [...labels.entries()].sort((a, b) => a[1].localeCompare(b[1]));
    };
    let gradeSeq = 0;
    const addGradeRow = () => {
      const n = ++gradeSeq;
      const term = h('select', { id: `obs-grade-term-${n}` }, h('option', { value: '' }, '— choose a term —'),
        termOptions().map(([v, t]) => h('option', { value: v }, t)));
      const grade = h('select', { id: `obs-grade-val-${n}` }, h('option', { value: '' }, '—'),
        [0, 1, 2, 3, 4, 5].map((g) => h('option', { value: String(g) }, `${g} · ${gradeInfo(g).word}`)));
      inputs.push({ kind: 'grade', term, inp: grade });
      gradeRows.append(h('div.grade-row',
        h('div.field', h('label', { for: `obs-grade-term-${n}` }, 'CTCAE term'), term),
        h('div.field', h('label', { for: `obs-grade-val-${n}` }, 'Grade'), grade)));
    };
    addGradeRow();
    const addBtn = h('button.btn.btn-quiet', { type: 'button', onclick: () => addGradeRow() }, 'Add another term');
    const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Save observations');
    const status = statusLine();
    const form = h('form.card.obs-form', { 'aria-labelledby': 'obs-h', novalidate: true },
      h('div.card-head', h('h2#obs-h', 'Enter observations')),
      h('div.field.obs-time', h('label', { for: 'obs-time' }, 'Observed at'), h('div.inline', time, nowBtn)),
      groups,
      h('details.obs-group', h('summary', 'Rhythm, consciousness, FIT / FOBT'), h('div.obs-grid', cats)),
      h('details.obs-group', h('summary', 'Clinical flags'), h('p.hint', 'A flag holds from its time until it is recorded absent.'), h('div.obs-grid', flags)),
      h('details.obs-group', { open: true }, h('summary', 'Clinician CTCAE grade'),
        h('p.hint', 'For terms without numbers (confusion, hypotension, nausea…) or to grade above the numeric grade.'), gradeRows, addBtn),
      h('div.form-actions', submit), status);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const at = time.dataset.auto ? new Date().toISOString() : fromLocalInput(time.value);
      if (!at) { showStatus(status, 'error', 'Enter when the observations were made.'); time.focus(); return; }
      const readings = [], used = [];
      for (const x of inputs) {
        if (x.kind === 'num' && x.inp.value !== '') {
          const v = Number(x.inp.value);
          if (!Number.isFinite(v)) continue;
          const r = { code: x.code, value: v, time: at };
          if (x.unitSel && x.unitSel.value !== x.canonical) r.unit = x.unitSel.value;
          readings.push(r); used.push(x);
        } else if (x.kind === 'cat' && x.inp.value) {
          readings.push({ code: x.code, value: x.inp.value, time: at }); used.push(x);
        } else if (x.kind === 'flag' && x.inp.value) {
          readings.push({ code: x.code, value: x.inp.value === 'true', time: at }); used.push(x);
        } else if (x.kind === 'grade' && x.term.value && x.inp.value !== '') {
          readings.push({ code: `ctcae.${x.term.value}`, value: Number(x.inp.value), time: at }); used.push(x);
        }
      }
      if (!readings.length) { showStatus(status, 'error', 'Nothing to save: fill in at least one value.'); return; }
      submit.disabled = true;
      showStatus(status, 'busy', 'Saving…');
      const label = (r) => (r.code.startsWith('ctcae.') ? `${human(r.code.slice(6))} grade` : codeLabel(r.code));
      try {
        const res = await post(`/api/v1/patients/${id}/observations`, { readings });
        const rej = Array.isArray(res && res.rejected) ? res.rejected : [];
        const bad = new Set(rej.map((r) => r.index));
        used.forEach((x, i) => { if (!bad.has(i)) { x.inp.value = ''; if (x.term) x.term.value = ''; } });
        const saved = (res && res.accepted) ?? readings.length - rej.length;
        showStatus(status, rej.length ? 'error' : 'ok', `Saved ${saved} observation${saved === 1 ? '' : 's'}` +
          (rej.length ? `; not saved: ${rej.map((r) => `${label(readings[r.index])}: ${r.message || r.code}`).join('; ')}` : '.'));
        if (time.dataset.auto) setNow(time);
        refresh({ reason: 'local', charts: true });
      } catch (e) {
        const rej = e.details && e.details.length && e.details[0].index !== undefined ? e.details : [];
        showStatus(status, 'error', `Not saved: ${rej.length ? rej.map((r) => `${label(readings[r.index])}: ${r.message || r.code}`).join('; ') : (e.describe ? e.describe() : e.message)}`);
      } finally { submit.disabled = false; }
    });
    setNow(time);
    return { el: form };
  }

  // ---- baselines ------------------------------------------------------------------------
  function renderBaseline() {
    clear(baseCard);
    const p = st.patient;
    if (!p) return;
    const b = p.baseline || {};
    const rr = p.reference_ranges || {};
    baseCard.append(h('div.card-head', h('h2#base-h', 'Baselines and reference ranges'),
      ctx.can('physician') ? null : h('p.card-meta', 'Baselines are edited by a physician.')));
    baseCard.append(h('div.base-cols',
      kvTable(BASELINE.map(([k, l, u]) => [l, b[k] !== undefined && b[k] !== null ? `${b[k]} ${u}` : h('span.muted', 'not recorded (terms needing it are not gradable)')])),
      kvTable([['NEWS2 scale', String(p.news2_scale || 1)],
        ...REF_RANGES.filter(([k]) => rr[k] !== undefined).map(([k, l, u]) => [l, `${rr[k]} ${u}`]),
        ...(Object.keys(rr).length ? [] : [['Reference ranges', 'rule set defaults']])])));
    if (!ctx.can('physician')) return;
    const fields = BASELINE.map(([k, l, u, step]) => {
      const inp = h('input', { type: 'number', id: `base-${k}`, step: String(step), value: b[k] ?? '', inputmode: 'decimal' });
      return { k, inp, el: h('div.field', h('label', { for: `base-${k}` }, `${l} (${u})`), inp) };
    });
    const refs = REF_RANGES.map(([k, l, u]) => {
      const inp = h('input', { type: 'number', id: `ref-${k}`, step: 'any', value: rr[k] ?? '', inputmode: 'decimal' });
      return { k, inp, el: h('div.field', h('label', { for: `ref-${k}` }, `${l}${u ? ` (${u})` : ''}`), inp) };
    });
    const scale = h('select#base-news2', h('option', { value: '1', selected: (p.news2_scale || 1) === 1 }, 'Scale 1'),
      h('option', { value: '2', selected: p.news2_scale === 2 }, 'Scale 2 (hypercapnic respiratory failure)'));
    const status = statusLine();
    const save = h('button.btn.btn-primary', { type: 'submit' }, 'Save baselines');
    const form = h('form.base-form',
      h('div.obs-grid', fields.map((f) => f.el)),
      h('details.obs-group', h('summary', 'Reference ranges (override the rule set defaults)'), h('div.obs-grid', refs.map((f) => f.el))),
      h('div.field', h('label', { for: 'base-news2' }, 'NEWS2 SpO₂ scale'), scale),
      h('div.form-actions', save), status);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { baseline: {}, news2_scale: Number(scale.value) };
      for (const f of fields) if (f.inp.value !== '') body.baseline[f.k] = Number(f.inp.value);
      const ranges = {};
      for (const f of refs) if (f.inp.value !== '') ranges[f.k] = Number(f.inp.value);
      if (Object.keys(ranges).length) body.reference_ranges = ranges;
      save.disabled = true;
      showStatus(status, 'busy', 'Saving…');
      try {
        st.patient = await patch(`/api/v1/patients/${id}`, body);
        renderBaseline();
        const s2 = baseCard.querySelector('.form-status');
        if (s2) showStatus(s2, 'ok', 'Baselines saved.');
      } catch (e) {
        showStatus(status, 'error', `Not saved: ${e.describe ? e.describe() : e.message}`);
        save.disabled = false;
      }
    });
    baseCard.append(h('details.edit', h('summary', 'Edit baselines'), form));
  }

  // ---- charts ---------------------------------------------------------------------------
  async function readingsOf(code, from, to) {
    const out = [];
    let cursor = null;
    for (let page = 0; page < 10; page++) {
      const q = new URLSearchParams({ code, from, to, limit: '1000' });
      if (cursor) q.set('cursor', cursor);
      const r = await get(`/api/v1/patients/${id}/readings?${q}`);
      out.push(...(r.readings || []));
      if (!r.next) break;
      cursor = r.next;
    }
    return out;
  }

  function window_() {
    const to = Date.now();
    const r = RANGES.find((x) => x.key === st.range) || RANGES[1];
    let from;
    if (r.ms) from = to - r.ms;
    else {
      const s = st.tox && st.tox.schedule;
      const start = Date.parse((s && (s.cycle_start || s.first_dose_at)) || (st.patient && st.patient.admitted_at) || '');
      from = Number.isFinite(start) ? Math.min(start, to - 6 * 3600e3) : to - 24 * 3600e3;
    }
    return { from, to, buckets: r.buckets };
  }

  async function loadCharts() {
    st.chartsAt = Date.now();
    const { from, to, buckets } = window_();
    const fromIso = new Date(from).toISOString(), toIso = new Date(to).toISOString();
    const codes = ['hr', 'sbp', 'dbp', 'map', 'spo2', 'temp', 'rr'];
    const [series, urine, weight] = await Promise.all([
      get(`/api/v1/patients/${id}/series?${new URLSearchParams({ codes: codes.join(','), from: fromIso, to: toIso, buckets: String(buckets) })}`),
      readingsOf('urine', new Date(from - 24 * 3600e3).toISOString(), toIso),
      readingsOf('weight', fromIso, toIso),
    ]);
    if (!st.alive) return;
    const f = Date.parse(series.from) || from;
    const bms = series.bucket_ms || (to - from) / buckets;
    const xs = [];
    for (let i = 0; i < buckets; i++) xs.push((f + (i + 0.5) * bms) / 1000);
    const col = (code) => {
      const ys = new Array(buckets).fill(null);
      for (const b of (series.series && series.series[code]) || []) {
        const i = Math.floor((Date.parse(b.start) - f) / bms + 1e-6);
        if (i >= 0 && i < buckets) ys[i] = b.mean;
      }
      return ys;
    };
    const range = [from / 1000, to / 1000];
    const doses = doseList().map((d) => ({ t: Date.parse(d.time) / 1000, held: d.status !== 'given',
      label: d.status === 'given' ? `dose${d.dose_in_cycle ? ' ' + d.dose_in_cycle : ''}` : 'held' }));
    const bandsFor = (cs) => st.bands.filter((b) => cs.includes(b.code));
    const rates = urineRates(urine).filter((r) => Date.parse(r.time) >= from);
    let points = 0;
    for (const c of st.charts) {
      const def = c.def;
      if (def.key === 'urine') {
        c.set(rates.map((r) => Date.parse(r.time) / 1000), [rates.map((r) => r.rate)], range, [], doses);
        setCaption(c, rates.length, rates.length ? `latest ${Math.round(rates[rates.length - 1].rate)} mL/h` : null);
        points += rates.length;
      } else if (def.key === 'weight') {
        c.set(weight.map((r) => Date.parse(r.time) / 1000), [weight.map((r) => r.value)], range, [], doses);
        setCaption(c, weight.length, weight.length ? `latest ${fmtValue('weight', weight[weight.length - 1].value)} kg` : null);
        points += weight.length;
      } else {
        const ys = def.codes.map(col);
        c.set(xs, ys, range, bandsFor(def.codes), doses);
        const n = ys[0].filter((v) => v !== null).length;
        const last = [...ys[0]].reverse().find((v) => v !== null);
        setCaption(c, n, last !== undefined ? `latest mean ${fmtValue(def.codes[0], last)}` : null, bandsFor(def.codes));
        points += n;
      }
    }
    const r = RANGES.find((x) => x.key === st.range);
    setText(chartNote, `${r.label}: ${fmtDateTime(new Date(from).toISOString())} – ${fmtTime(new Date(to).toISOString())}. ` +
      (st.rulesState === 'ok' ? (st.bands.length ? 'Shaded bands: rule thresholds (amber hold, red stop). ' : '') : 'Rule thresholds not shown: the rule set is not available from this server yet. ') +
      (st.dosesState === 'ok' ? 'Vertical lines: doses.' : 'Dose times not shown: no dose log yet.'));
    root.querySelector('.patient-view').dataset.chartsReady = String(points > 0);
  }

  function setCaption(c, n, latest, bands = []) {
    const thr = bands.map((b) => `${codeLabel(b.code)} ${b.range} (${b.rule})`).join('; ');
    setText(c.caption, n ? `${latest || ''}${thr ? ` · thresholds ${thr}` : ''}` : 'No data in this range.');
  }

  // ---- loading ------------------------------------------------------------------------------
  async function loadTox() {
    const r = await optional('toxicity', `/api/v1/patients/${id}/toxicity`);
    st.tox = r.ok ? r.data : null;
    st.toxState = r.ok ? 'ok' : 'absent';
  }
  async function loadDoses() {
    const r = await optional('doses', `/api/v1/patients/${id}/doses`);
    st.doses = r.ok ? r.data : null;
    st.dosesState = r.ok ? 'ok' : 'absent';
  }
  async function loadAlerts() {
    const r = await optional('alerts', `/api/v1/alerts?${new URLSearchParams({ patient: String(id), state: 'all' })}`);
    st.alerts = r.ok ? (r.data.alerts || []) : null;
    st.alertsState = r.ok ? 'ok' : 'absent';
    if (st.alive) renderAlerts();
  }
  async function loadRules() {
    const r = await optional('rules', '/api/v1/rules');
    st.rulesState = r.ok ? 'ok' : 'absent';
    st.bands = r.ok ? ruleBands(r.data) : [];
  }
  async function loadCore() {
    const [p, ward] = await Promise.all([get(`/api/v1/patients/${id}`), get('/api/v1/ward')]);
    st.patient = p;
    st.fetchedAt = Date.now();
    st.bed = (ward.beds || []).find((b) => b.patient && b.patient.id === id) || null;
    ctx.markUpdated();
  }

  // Sections are rebuilt only when their data changed, so open <details>,
  // focus and scroll position survive refreshes.
  const seen = { tox: null, doses: null };
  function renderAll() {
    renderHead(); renderStrip(); renderAlerts();
    const toxKey = `${st.toxState}|${JSON.stringify(st.tox && { ...st.tox, at: null })}`;
    if (toxKey !== seen.tox) {
      seen.tox = toxKey;
      // Rebuilt, but what the reader had opened stays open.
      const open = new Set([...root.querySelectorAll('details[data-keep][open]')].map((d) => d.dataset.keep));
      renderBanner(); renderTox();
      for (const d of root.querySelectorAll('details[data-keep]')) if (open.has(d.dataset.keep)) d.open = true;
    }
    const doseKey = `${st.dosesState}|${JSON.stringify(st.doses)}`;
    if (doseKey !== seen.doses) { seen.doses = doseKey; renderDoses(); }
    if (doseForm) doseForm.sync();
  }

  const about = (e) => {
    const d = e.data;
    if (!d || typeof d !== 'object') return true;
    const pid = d.patient_id ?? (d.patient && d.patient.id);
    return pid === undefined || pid === null || Number(pid) === id;
  };

  async function refresh(why = {}) {
    if (st.busy) { st.again = why; return; }
    st.busy = true;
    try {
      if (why.reason === 'events' && why.events.length && !why.events.some(about)) return;
      const first = why.reason === 'mount';
      await Promise.all([loadCore(), loadTox(), loadDoses(), loadAlerts(), first ? loadRules() : null,
        invalidUi.load()]);
      if (!st.alive) return;
      topError.hidden = true;
      if (first) { renderBaseline(); setText(document.querySelector('title'), `${st.patient.name} · wardd`); }
      else if (why.events && why.events.some((e) => e.type === 'patient')) renderBaseline();
      renderAll();
      const gap = why.reason === 'poll' ? 30000 : 5000;
      if (first || why.charts || Date.now() - st.chartsAt > gap) await loadCharts();
    } catch (e) {
      if (!st.alive || e.status === 401) return;
      topError.hidden = false;
      clear(topError).append(icon('warn'), h('span', e.status === 404 ? `No patient ${id}.` : `Could not load: ${e.describe ? e.describe() : e.message}`));
    } finally {
      st.busy = false;
      if (st.again && st.alive) { const w = st.again; st.again = null; refresh(w); }
    }
  }

  const onResize = () => { for (const c of st.charts) c.resize(); };
  const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => onResize()) : null;
  if (ro) ro.observe(chartGrid); else window.addEventListener('resize', onResize);

  refresh({ reason: 'mount' });
  return {
    title: 'Patient',
    refresh,
    tick() { renderStrip(); alertsUi.tick(); },
    unmount() {
      st.alive = false;
      if (ro) ro.disconnect(); else window.removeEventListener('resize', onResize);
      for (const c of st.charts) c.destroy();
    },
  };
}
