// Patient view: baselines (the values grades relative to baseline are
// computed from), reference ranges overriding the rule set's defaults, and
// the NEWS2 SpO₂ scale; a physician edits them.

import { patch } from '../../api.js';
import { h, clear, statusLine, showStatus } from '../../dom.js';
import { unitWord } from '../../format.js';
import { kvTable } from '../../components.js';
import { loadErrorNote } from './common.js';

// The keys, labels, units and accepted ranges come from the server's
// catalogue (baseline_keys, limit_keys).
const withUnit = (v, unit) => (unitWord(unit) ? `${v} ${unitWord(unit)}` : String(v));

function summaryTables(p, cat) {
  const b = p.baseline || {};
  const rr = p.reference_ranges || {};
  const has = (o, k) => o[k] !== undefined && o[k] !== null;
  return h('div.base-cols',
    kvTable(cat.baselineKeys.map((k) => [k.label, has(b, k.key) ? withUnit(b[k.key], k.unit)
      : h('span.muted', 'not recorded (terms needing it are not gradable)')])),
    kvTable([['NEWS2 scale', String(p.news2_scale || 1)],
      ...cat.limitKeys.filter((k) => has(rr, k.key)).map((k) => [k.label, withUnit(rr[k.key], k.unit)]),
      ...(Object.keys(rr).length ? [] : [['Reference ranges', 'rule set defaults']])]));
}

// Without the catalogue: the recorded values under their keys.
function rawTables(p) {
  const rows = (o) => Object.entries(o || {}).map(([k, v]) => [k, String(v)]);
  return h('div.base-cols', kvTable(rows(p.baseline)), kvTable([['NEWS2 scale', String(p.news2_scale || 1)], ...rows(p.reference_ranges)]));
}

function numberField(prefix, k, value) {
  const inp = h('input', { type: 'number', id: `${prefix}-${k.key}`, step: 'any', min: String(k.min), max: String(k.max),
                           value: value ?? '', inputmode: 'decimal' });
  const unit = unitWord(k.unit);
  return { k: k.key, inp, el: h('div.field', h('label', { for: `${prefix}-${k.key}` }, `${k.label}${unit ? ` (${unit})` : ''}`), inp) };
}

function editFields(p, cat) {
  const b = p.baseline || {};
  const rr = p.reference_ranges || {};
  const fields = cat.baselineKeys.map((k) => numberField('base', k, b[k.key]));
  const refs = cat.limitKeys.map((k) => numberField('ref', k, rr[k.key]));
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

// st: the view's state (patient, replaced by the PATCH response;
// catalogue, catalogueState, catalogueError).
export function createBaselineCard(ctx, st, id) {
  const el = h('section.card.baseline', { 'aria-labelledby': 'base-h' });
  let shown = null; // what the card shows; update() rebuilds only when it changed

  function editForm(p) {
    const f = editFields(p, st.catalogue);
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
    shown = `${st.catalogueState}|${JSON.stringify(p)}`;
    if (!p) return;
    el.append(h('div.card-head', h('h2#base-h', 'Baselines and reference ranges'),
      ctx.can('physician') ? null : h('p.card-meta', 'Baselines are edited by a physician.')));
    if (st.catalogueState !== 'ok') {
      el.append(st.catalogueState === 'error' ? loadErrorNote('The list of baselines and reference ranges', st.catalogueError)
        : h('p.muted', 'Loading…'), rawTables(p));
      return;
    }
    el.append(summaryTables(p, st.catalogue));
    if (ctx.can('physician')) el.append(editForm(p));
  }

  // Rebuilds the card when the patient record or the catalogue changed (an
  // edit in progress survives refreshes that change neither).
  function update() {
    if (`${st.catalogueState}|${JSON.stringify(st.patient)}` !== shown) render();
  }

  return { el, render, update };
}
