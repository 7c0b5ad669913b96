// Patient view: nurse entry of observations — numbers with their unit,
// categorical values, clinical flags and clinician CTCAE grades — posted
// together as one batch at one time.

import { post } from '../../api.js';
import { h, statusLine, showStatus } from '../../dom.js';
import { gradeInfo, unitWord, fromLocalInput, codeLabel } from '../../format.js';
import { human, setNow } from './common.js';

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
// The CTCAE terms of the default rule set (the toxicity response's labels
// win when present).
const TERMS = [
  'fever', 'hypotension', 'hypertension', 'sinus_tachycardia', 'atrial_fibrillation',
  'supraventricular_tachycardia', 'ventricular_tachycardia', 'hypoxia', 'creatinine_increased',
  'acute_kidney_injury', 'blood_bilirubin_increased', 'aspartate_aminotransferase_increased',
  'alanine_aminotransferase_increased', 'platelet_count_decreased', 'weight_gain', 'edema_limbs',
  'capillary_leak_syndrome', 'confusion', 'somnolence', 'depressed_level_of_consciousness',
  'hypokalemia', 'hyperkalemia', 'acidosis', 'diarrhea', 'nausea', 'vomiting', 'chills',
  'urine_output_decreased',
];

// Numeric fields, grouped; each input is pushed on `inputs`.
function numericGroups(inputs) {
  return OBS_GROUPS.map((g) => {
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
}

function categoricalFields(inputs) {
  return CATEGORICAL.map(([code, opts]) => {
    const sel = h('select', { id: `obs-${code}` }, h('option', { value: '' }, '— not recorded —'),
      opts.map(([v, t]) => h('option', { value: v }, t)));
    inputs.push({ code, kind: 'cat', inp: sel });
    return h('div.field.obs-field', h('label', { for: `obs-${code}` }, codeLabel(code)), sel);
  });
}

function flagFields(inputs) {
  return FLAGS.map((f) => {
    const sel = h('select', { id: `obs-flag-${f}` }, h('option', { value: '' }, 'unchanged'),
      h('option', { value: 'true' }, 'present'), h('option', { value: 'false' }, 'absent'));
    inputs.push({ code: f, kind: 'flag', inp: sel });
    return h('div.field.obs-field', h('label', { for: `obs-flag-${f}` }, human(f)), sel);
  });
}

// Rows of (CTCAE term, grade); "Add another term" appends one.
function gradeRowsField(inputs, st) {
  const rows = h('div.grade-rows');
  const termOptions = () => {
    const labels = new Map();
    if (st.tox && Array.isArray(st.tox.terms)) for (const t of st.tox.terms) labels.set(t.term, t.label || human(t.term));
    for (const t of TERMS) if (!labels.has(t)) labels.set(t, human(t));
    return [...labels.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  };
  let seq = 0;
  const addRow = () => {
    const n = ++seq;
    const term = h('select', { id: `obs-grade-term-${n}` }, h('option', { value: '' }, '— choose a term —'),
      termOptions().map(([v, t]) => h('option', { value: v }, t)));
    const grade = h('select', { id: `obs-grade-val-${n}` }, h('option', { value: '' }, '—'),
      [0, 1, 2, 3, 4, 5].map((g) => h('option', { value: String(g) }, `${g} · ${gradeInfo(g).word}`)));
    inputs.push({ kind: 'grade', term, inp: grade });
    rows.append(h('div.grade-row',
      h('div.field', h('label', { for: `obs-grade-term-${n}` }, 'CTCAE term'), term),
      h('div.field', h('label', { for: `obs-grade-val-${n}` }, 'Grade'), grade)));
  };
  addRow();
  const addBtn = h('button.btn.btn-quiet', { type: 'button', onclick: () => addRow() }, 'Add another term');
  return [rows, addBtn];
}

// The filled-in inputs as readings at `at`; used[i] is the input of readings[i].
function collectReadings(inputs, at) {
  const readings = [], used = [];
  for (const x of inputs) {
    let r = null;
    if (x.kind === 'num' && x.inp.value !== '') {
      const v = Number(x.inp.value);
      if (!Number.isFinite(v)) continue;
      r = { code: x.code, value: v, time: at };
      if (x.unitSel && x.unitSel.value !== x.canonical) r.unit = x.unitSel.value;
    } else if (x.kind === 'cat' && x.inp.value) {
      r = { code: x.code, value: x.inp.value, time: at };
    } else if (x.kind === 'flag' && x.inp.value) {
      r = { code: x.code, value: x.inp.value === 'true', time: at };
    } else if (x.kind === 'grade' && x.term.value && x.inp.value !== '') {
      r = { code: `ctcae.${x.term.value}`, value: Number(x.inp.value), time: at };
    }
    if (r) { readings.push(r); used.push(x); }
  }
  return { readings, used };
}

const readingLabel = (r) => (r.code.startsWith('ctcae.') ? `${human(r.code.slice(6))} grade` : codeLabel(r.code));
const rejectedText = (readings, rej) => rej.map((r) => `${readingLabel(readings[r.index])}: ${r.message || r.code}`).join('; ');

// Posts the batch; clears what was saved and says what was not.
async function save(id, f, inputs) {
  const at = f.time.dataset.auto ? new Date().toISOString() : fromLocalInput(f.time.value);
  if (!at) { showStatus(f.status, 'error', 'Enter when the observations were made.'); f.time.focus(); return false; }
  const { readings, used } = collectReadings(inputs, at);
  if (!readings.length) { showStatus(f.status, 'error', 'Nothing to save: fill in at least one value.'); return false; }
  showStatus(f.status, 'busy', 'Saving…');
  try {
    const res = await post(`/api/v1/patients/${id}/observations`, { readings });
    const rej = Array.isArray(res && res.rejected) ? res.rejected : [];
    const bad = new Set(rej.map((r) => r.index));
    used.forEach((x, i) => { if (!bad.has(i)) { x.inp.value = ''; if (x.term) x.term.value = ''; } });
    const saved = (res && res.accepted) ?? readings.length - rej.length;
    showStatus(f.status, rej.length ? 'error' : 'ok', `Saved ${saved} observation${saved === 1 ? '' : 's'}` +
      (rej.length ? `; not saved: ${rejectedText(readings, rej)}` : '.'));
    if (f.time.dataset.auto) setNow(f.time);
    return true;
  } catch (e) {
    const rej = e.details && e.details.length && e.details[0].index !== undefined ? e.details : [];
    showStatus(f.status, 'error', `Not saved: ${rej.length ? rejectedText(readings, rej) : (e.describe ? e.describe() : e.message)}`);
    return false;
  }
}

// st: the view's state (tox, for the terms' labels); onSaved() refreshes
// the view after a batch was stored.
export function createObsForm(st, id, onSaved) {
  const inputs = [];
  // Left at its default, the time is taken when the form is saved.
  const time = h('input#obs-time', { type: 'datetime-local', required: true });
  const nowBtn = h('button.btn.btn-quiet', { type: 'button', onclick: () => setNow(time) }, 'Now');
  time.addEventListener('input', () => { delete time.dataset.auto; });
  const groups = numericGroups(inputs);
  const cats = categoricalFields(inputs);
  const flags = flagFields(inputs);
  const [gradeRows, addBtn] = gradeRowsField(inputs, st);
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
    submit.disabled = true;
    try {
      if (await save(id, { time, status }, inputs)) onSaved();
    } finally { submit.disabled = false; }
  });
  setNow(time);
  return { el: form };
}
