// Administration: the "Admit a patient" form (nurse and up). The baseline
// and reference-limit fields are those of the server's catalogue
// (GET /api/v1/catalogue, js/catalogue.js); without it a patient can still
// be admitted, baselines can be added later on the patient view.

import { post } from '../../api.js';
import { h, append, clear, statusLine, showStatus } from '../../dom.js';
import { fromLocalInput, unitWord } from '../../format.js';
import { loadCatalogue } from '../../catalogue.js';
import { errText, field } from './common.js';

function identityFields() {
  const inp = (type, extra = {}) => h('input', { type, autocomplete: 'off', ...extra });
  return {
    name: inp('text', { required: true, maxlength: '128' }),
    mrn: inp('text', { required: true, maxlength: '64' }),
    bed: h('select', { required: true }),
    birth_date: inp('date'),
    sex: h('select', h('option', { value: '' }, '—'), ['female', 'male', 'other'].map((x) => h('option', { value: x }, x))),
    diagnosis: h('select', h('option', { value: '' }, '—'), [['melanoma', 'Melanoma'], ['rcc', 'Renal cell carcinoma'], ['other', 'Other']].map(([v, t]) => h('option', { value: v }, t))),
    admitted_at: inp('datetime-local'),
    news2_scale: h('select', h('option', { value: '1' }, 'Scale 1'), h('option', { value: '2' }, 'Scale 2')),
  };
}

// One number input per catalogue key ({key, label, unit, min, max}).
function keyInputs(keys) {
  return keys.map((k) => {
    const unit = unitWord(k.unit);
    const inp = h('input', { type: 'number', step: 'any', min: String(k.min), max: String(k.max), inputmode: 'decimal', autocomplete: 'off' });
    return { k: k.key, inp, el: field(`admit-${k.key}`, `${k.label}${unit ? ` (${unit})` : ''}`, inp) };
  });
}

// The POST body: what was filled in.
function admissionBody(f, base, refs) {
  const b = { name: f.name.value.trim(), mrn: f.mrn.value.trim(), bed: f.bed.value, news2_scale: Number(f.news2_scale.value) };
  if (f.birth_date.value) b.birth_date = f.birth_date.value;
  if (f.sex.value) b.sex = f.sex.value;
  if (f.diagnosis.value) b.diagnosis = f.diagnosis.value;
  const at = fromLocalInput(f.admitted_at.value);
  if (at) b.admitted_at = at;
  const numbers = (list) => Object.fromEntries(list.filter((x) => x.inp.value !== '').map((x) => [x.k, Number(x.inp.value)]));
  const baseline = numbers(base), rr = numbers(refs);
  if (Object.keys(baseline).length) b.baseline = baseline;
  if (Object.keys(rr).length) b.reference_ranges = rr;
  return b;
}

// wantBed: the bed to preselect (from #/admin/patients?bed=B7); onAdmitted()
// reloads the list.
export function createAdmitForm(wantBed, onAdmitted) {
  const f = identityFields();
  let base = [], refs = [];
  const baseBox = h('div.obs-grid');
  const refBox = h('div.obs-grid');
  const keysNote = h('div');
  const status = statusLine();
  const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Admit patient');
  const form = h('form.card.admit-form', { 'aria-labelledby': 'admit-h', novalidate: true },
    h('div.card-head', h('h2#admit-h', 'Admit a patient')),
    h('div.obs-grid',
      field('admit-name', 'Name (required)', f.name), field('admit-mrn', 'MRN (required)', f.mrn),
      field('admit-bed', 'Bed (required)', f.bed), field('admit-birth', 'Birth date', f.birth_date),
      field('admit-sex', 'Sex', f.sex), field('admit-dx', 'Diagnosis', f.diagnosis),
      field('admit-at', 'Admitted at', f.admitted_at, 'Empty: now'), field('admit-news2', 'NEWS2 SpO₂ scale', f.news2_scale)),
    h('fieldset.plain', h('legend', 'Pre-treatment baselines'),
      h('p.hint', 'Terms that need a missing baseline are reported as not gradable, never as grade 0. Later changes need a physician.'),
      keysNote, baseBox),
    h('details.obs-group', h('summary', 'Reference ranges (only to override the rule set defaults)'), refBox),
    h('div.form-actions', submit), status);

  function loadKeys() {
    clear(keysNote);
    loadCatalogue().then((cat) => {
      base = keyInputs(cat.baselineKeys);
      refs = keyInputs(cat.limitKeys);
      append(clear(baseBox), base.map((x) => x.el));
      append(clear(refBox), refs.map((x) => x.el));
    }).catch((e) => {
      keysNote.append(h('p.pending.load-error', `The baseline fields could not be loaded (${errText(e)}). The patient can be admitted without them and baselines added on the patient view.`),
        h('button.btn.btn-quiet', { type: 'button', onclick: loadKeys }, 'Try again'));
    });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!f.name.value.trim() || !f.mrn.value.trim() || !f.bed.value) {
      showStatus(status, 'error', 'Name, MRN and bed are required.');
      (!f.name.value.trim() ? f.name : !f.mrn.value.trim() ? f.mrn : f.bed).focus();
      return;
    }
    submit.disabled = true;
    showStatus(status, 'busy', 'Admitting…');
    try {
      const p = await post('/api/v1/patients', admissionBody(f, base, refs));
      showStatus(status, 'ok', `${p.name} admitted to ${p.bed}.`);
      form.reset();
      await onAdmitted();
    } catch (e) {
      showStatus(status, 'error', `Not admitted: ${errText(e)}`);
    } finally { submit.disabled = false; }
  });
  loadKeys();
  return {
    el: form,
    setBeds(free) {
      const keep = f.bed.value || wantBed || '';
      append(clear(f.bed), [h('option', { value: '' }, free.length ? 'choose a free bed' : 'no free bed'),
        free.map((b) => h('option', { value: b.id, selected: b.id === keep }, b.label || b.id))]);
    },
  };
}
