// Patient view: nurse entry of observations — numbers with their unit,
// categorical values, clinical flags and clinician CTCAE grades — posted
// together as one batch at one time.

import { post } from '../../api.js';
import { h, statusLine, showStatus } from '../../dom.js';
import { gradeInfo, unitWord, fromLocalInput, codeLabel } from '../../format.js';
import { codesOfKind } from '../../catalogue.js';
import { human, setNow, loadErrorNote } from './common.js';

// Which codes come from the server's catalogue (js/catalogue.js): codes,
// labels, canonical units, flags and the CTCAE terms of the active rule
// set. What stays here is layout: the section a numeric code is entered
// in (a code not placed here goes to the last section), its input step,
// the other units the server converts (docs/api.md "Observation codes"),
// and the words for categorical values.
const SECTIONS = [
  { title: 'Vital signs', open: true, codes: ['hr', 'sbp', 'dbp', 'map', 'spo2', 'temp', 'rr', 'o2_flow', 'fio2'] },
  { title: 'Fluids and weight', open: true, codes: ['urine', 'weight', 'diarrhea_ml', 'stool_count'] },
  { title: 'Cardiovascular', open: false, codes: ['phenylephrine', 'vt_beats'] },
  { title: 'Laboratory and other values', open: false, codes: null },
];
const STEP = { temp: 0.1, weight: 0.1, o2_flow: 0.5, phenylephrine: 0.01, creatinine: 0.01, bilirubin: 0.01, potassium: 0.1, ph: 0.01, lactate: 0.1 };
const OTHER_UNITS = { temp: ['[degF]'], weight: ['[lb_av]'], phenylephrine: ['ug/min'], creatinine: ['umol/L'], bilirubin: ['umol/L'] };
const VALUE_WORDS = {
  rhythm: [['sinus', 'Sinus'], ['af', 'Atrial fibrillation'], ['svt', 'SVT'], ['vt', 'VT'], ['brady', 'Bradycardia'], ['other', 'Other']],
  consciousness: [['A', 'A — alert'], ['C', 'C — new confusion'], ['V', 'V — voice'], ['P', 'P — pain'], ['U', 'U — unresponsive']],
  fobt: [['negative', 'Negative'], ['positive', 'Positive']],
};

// Numeric fields, grouped; each input is pushed on `inputs`.
function numericGroups(cat, inputs) {
  const numeric = codesOfKind(cat, 'numeric');
  const placed = new Set(SECTIONS.flatMap((g) => g.codes || []));
  return SECTIONS.map((g) => {
    const codes = g.codes ? g.codes.filter((c) => cat.codes.has(c) && cat.codes.get(c).kind === 'numeric')
      : numeric.map((c) => c.code).filter((c) => !placed.has(c));
    const fields = codes.map((code) => {
      const c = cat.codes.get(code);
      const units = [c.unit, ...(OTHER_UNITS[code] || [])];
      const inp = h('input', { type: 'number', id: `obs-${code}`, name: code, step: String(STEP[code] || 1), inputmode: 'decimal', autocomplete: 'off' });
      let unitSel = null;
      if (units.length > 1) {
        unitSel = h('select', { id: `obs-${code}-unit`, 'aria-label': `${c.label} unit` },
          units.map((u) => h('option', { value: u }, unitWord(u))));
      }
      inputs.push({ code, kind: 'num', inp, unitSel, canonical: units[0] });
      return h('div.field.obs-field', h('label', { for: `obs-${code}` }, c.label,
        units.length === 1 && unitWord(units[0]) ? h('span.unit', ` (${unitWord(units[0])})`) : null),
        h('div.inline', inp, unitSel));
    });
    return fields.length ? h('details.obs-group', { open: g.open }, h('summary', g.title), h('div.obs-grid', fields)) : null;
  });
}

// Categorical codes of the catalogue whose values this form has words for.
function categoricalFields(cat, inputs) {
  return codesOfKind(cat, 'categorical').filter((c) => VALUE_WORDS[c.code]).map((c) => {
    const sel = h('select', { id: `obs-${c.code}` }, h('option', { value: '' }, '— not recorded —'),
      VALUE_WORDS[c.code].map(([v, t]) => h('option', { value: v }, t)));
    inputs.push({ code: c.code, kind: 'cat', inp: sel });
    return h('div.field.obs-field', h('label', { for: `obs-${c.code}` }, c.label), sel);
  });
}

function flagFields(cat, inputs) {
  return codesOfKind(cat, 'flag').map((c) => {
    const sel = h('select', { id: `obs-flag-${c.code}` }, h('option', { value: '' }, 'unchanged'),
      h('option', { value: 'true' }, 'present'), h('option', { value: 'false' }, 'absent'));
    inputs.push({ code: c.code, kind: 'flag', inp: sel });
    return h('div.field.obs-field', h('label', { for: `obs-flag-${c.code}` }, c.label), sel);
  });
}

// The CTCAE terms a clinician may grade: those of the active rule set, from
// the catalogue and (newer, if the rule set changed since the page loaded)
// the toxicity response; sorted by label.
export function termOptions(cat, tox) {
  const labels = new Map();
  if (tox && Array.isArray(tox.terms)) for (const t of tox.terms) labels.set(t.term, t.label || human(t.term));
  for (const t of cat.ctcaeTerms) if (!labels.has(t.term)) labels.set(t.term, t.label);
  return [...labels.entries()].sort((a, b) => a[1].localeCompare(b[1]));
}

// Rows of (CTCAE term, grade); "Add another term" appends one.
function gradeRowsField(cat, inputs, st) {
  const rows = h('div.grade-rows');
  let seq = 0;
  const addRow = () => {
    const n = ++seq;
    const term = h('select', { id: `obs-grade-term-${n}` }, h('option', { value: '' }, '— choose a term —'),
      termOptions(cat, st.tox).map(([v, t]) => h('option', { value: v }, t)));
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

// The form's fields, built once the catalogue is there.
function buildFields(cat, st, inputs) {
  const [gradeRows, addBtn] = gradeRowsField(cat, inputs, st);
  return [
    numericGroups(cat, inputs),
    h('details.obs-group', h('summary', 'Rhythm, consciousness, FIT / FOBT'), h('div.obs-grid', categoricalFields(cat, inputs))),
    h('details.obs-group', h('summary', 'Clinical flags'), h('p.hint', 'A flag holds from its time until it is recorded absent.'),
      h('div.obs-grid', flagFields(cat, inputs))),
    h('details.obs-group', { open: true }, h('summary', 'Clinician CTCAE grade'),
      h('p.hint', 'For terms without numbers (confusion, hypotension, nausea…) or to grade above the numeric grade.'), gradeRows, addBtn),
  ];
}

// st: the view's state (catalogue, catalogueState, catalogueError; tox for
// the terms' labels). onSaved() refreshes the view after a batch was
// stored; retry() asks for the catalogue again.
export function createObsForm(st, id, onSaved, retry) {
  const inputs = [];
  // Left at its default, the time is taken when the form is saved.
  const time = h('input#obs-time', { type: 'datetime-local', required: true });
  const nowBtn = h('button.btn.btn-quiet', { type: 'button', onclick: () => setNow(time) }, 'Now');
  time.addEventListener('input', () => { delete time.dataset.auto; });
  const fields = h('div.obs-fields');
  const submit = h('button.btn.btn-primary', { type: 'submit', disabled: true }, 'Save observations');
  const status = statusLine();
  const form = h('form.card.obs-form', { 'aria-labelledby': 'obs-h', novalidate: true },
    h('div.card-head', h('h2#obs-h', 'Enter observations')),
    h('div.field.obs-time', h('label', { for: 'obs-time' }, 'Observed at'), h('div.inline', time, nowBtn)),
    fields, h('div.form-actions', submit), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (st.catalogueState !== 'ok') return;
    submit.disabled = true;
    try {
      if (await save(id, { time, status }, inputs)) onSaved();
    } finally { submit.disabled = false; }
  });
  setNow(time);
  let built = false;

  function render() {
    if (built) return;
    if (st.catalogueState === 'ok') {
      fields.replaceChildren(...buildFields(st.catalogue, st, inputs).flat().filter(Boolean));
      submit.disabled = false;
      built = true;
    } else if (st.catalogueState === 'error') {
      fields.replaceChildren(loadErrorNote('The observation codes', st.catalogueError),
        h('button.btn.btn-quiet', { type: 'button', onclick: () => retry() }, 'Try again'));
    } else {
      fields.replaceChildren(h('p.muted', 'Loading the observation codes…'));
    }
  }

  render();
  return { el: form, render };
}
