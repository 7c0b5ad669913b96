// Patient view: baselines (the values grades relative to baseline are
// computed from), reference ranges overriding the rule set's defaults, and
// the NEWS2 SpO₂ scale; a physician edits them.

import { patch } from '../../api.js';
import { h, clear, statusLine, showStatus } from '../../dom.js';
import { kvTable } from '../../components.js';

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

function summaryTables(p) {
  const b = p.baseline || {};
  const rr = p.reference_ranges || {};
  return h('div.base-cols',
    kvTable(BASELINE.map(([k, l, u]) => [l, b[k] !== undefined && b[k] !== null ? `${b[k]} ${u}` : h('span.muted', 'not recorded (terms needing it are not gradable)')])),
    kvTable([['NEWS2 scale', String(p.news2_scale || 1)],
      ...REF_RANGES.filter(([k]) => rr[k] !== undefined).map(([k, l, u]) => [l, `${rr[k]} ${u}`]),
      ...(Object.keys(rr).length ? [] : [['Reference ranges', 'rule set defaults']])]));
}

function editFields(p) {
  const b = p.baseline || {};
  const rr = p.reference_ranges || {};
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
  return { fields, refs, scale };
}

// The PATCH body: only the fields filled in.
function patchBody({ fields, refs, scale }) {
  const body = { baseline: {}, news2_scale: Number(scale.value) };
  for (const f of fields) if (f.inp.value !== '') body.baseline[f.k] = Number(f.inp.value);
  const ranges = {};
  for (const f of refs) if (f.inp.value !== '') ranges[f.k] = Number(f.inp.value);
  if (Object.keys(ranges).length) body.reference_ranges = ranges;
  return body;
}

// st: the view's state (patient; replaced by the PATCH response).
export function createBaselineCard(ctx, st, id) {
  const el = h('section.card.baseline', { 'aria-labelledby': 'base-h' });

  function editForm(p) {
    const f = editFields(p);
    const status = statusLine();
    const save = h('button.btn.btn-primary', { type: 'submit' }, 'Save baselines');
    const form = h('form.base-form',
      h('div.obs-grid', f.fields.map((x) => x.el)),
      h('details.obs-group', h('summary', 'Reference ranges (override the rule set defaults)'), h('div.obs-grid', f.refs.map((x) => x.el))),
      h('div.field', h('label', { for: 'base-news2' }, 'NEWS2 SpO₂ scale'), f.scale),
      h('div.form-actions', save), status);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      showStatus(status, 'busy', 'Saving…');
      try {
        st.patient = await patch(`/api/v1/patients/${id}`, patchBody(f));
        render();
        const s2 = el.querySelector('.form-status');
        if (s2) showStatus(s2, 'ok', 'Baselines saved.');
      } catch (e) {
        showStatus(status, 'error', `Not saved: ${e.describe ? e.describe() : e.message}`);
        save.disabled = false;
      }
    });
    return h('details.edit', h('summary', 'Edit baselines'), form);
  }

  function render() {
    clear(el);
    const p = st.patient;
    if (!p) return;
    el.append(h('div.card-head', h('h2#base-h', 'Baselines and reference ranges'),
      ctx.can('physician') ? null : h('p.card-meta', 'Baselines are edited by a physician.')));
    el.append(summaryTables(p));
    if (ctx.can('physician')) el.append(editForm(p));
  }

  return { el, render };
}
