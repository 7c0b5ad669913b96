// patient_invalid: the patient page's "Recent readings" card, where a nurse
// marks a reading invalid (a loose probe, a sample drawn from the drip arm)
// and a physician reinstates it (docs/api.md "Invalid readings"). An invalid
// reading stays listed, struck through, with who marked it, when and why;
// it no longer counts for grades, the decision, NEWS2, KDIGO or the charts.
// Built with dom.js helpers only (no markup from data, no inline handlers).

import { get, post } from '../api.js';
import { h, clear, statusLine, showStatus } from '../dom.js';
import { fmtValue, unitWord, codeLabel, fmtDateTime } from '../format.js';

const HOURS = 12;   // the card lists the last 12 h
const SHOWN = 60;   // newest first, at most this many rows

// invalidCard({ctx, patientId, onChanged}) -> {el, load()}
export function invalidCard({ ctx, patientId, onChanged }) {
  const body = h('div.inv-body');
  const status = statusLine();
  const el = h('section.card.pt-readings', { 'aria-labelledby': 'inv-h' },
    h('div.card-head', h('h2#inv-h', 'Recent readings'),
      h('p.card-meta', `Last ${HOURS} h, newest first. A reading marked invalid is kept, shown struck through, and no longer counts.`)),
    status, body);
  let rows = [];
  let openForm = null; // the reading id whose "mark invalid" form is open

  async function act(path, payload, done) {
    try {
      await post(path, payload);
      showStatus(status, 'ok', done);
      openForm = null;
      await load();
      if (onChanged) onChanged();
    } catch (e) {
      showStatus(status, 'error', e.describe ? e.describe() : e.message);
    }
  }

  function reasonForm(r) {
    const input = h('input', { type: 'text', required: true, maxlength: '500', 'aria-label': 'Reason',
      placeholder: 'e.g. entered-in-error, probe loose, drawn from the drip arm' });
    const form = h('form.inv-form',
      { onsubmit: (ev) => {
        ev.preventDefault();
        const reason = input.value.trim();
        if (!reason) { showStatus(status, 'error', 'A reason is required.'); return; }
        act(`/api/v1/readings/${r.id}/invalidate`, { reason },
          `${codeLabel(r.code)} ${fmtValue(r.code, r.value)} marked invalid.`);
      } },
      input, h('button.btn.btn-danger', { type: 'submit' }, 'Mark invalid'),
      h('button.btn', { type: 'button', onclick: () => { openForm = null; render(); } }, 'Cancel'));
    setTimeout(() => input.focus(), 0);
    return form;
  }

  function actions(r) {
    if (r.invalid) {
      return ctx.can('physician')
        ? h('button.btn', { type: 'button', onclick: () => act(`/api/v1/readings/${r.id}/reinstate`, undefined,
          `${codeLabel(r.code)} ${fmtValue(r.code, r.value)} reinstated.`) }, 'Reinstate')
        : null;
    }
    if (!ctx.can('nurse')) return null;
    if (openForm === r.id) return reasonForm(r);
    return h('button.btn', { type: 'button', onclick: () => { openForm = r.id; render(); } }, 'Mark invalid…');
  }

  function row(r) {
    const value = h('span.inv-value', `${fmtValue(r.code, r.value)} ${r.unit ? unitWord(r.unit) : ''}`.trim());
    const note = r.invalid
      ? h('span.inv-note', `Invalid: ${r.invalid.reason} — ${r.invalid.by}, ${fmtDateTime(r.invalid.at)}`)
      : null;
    return h(`li.inv-row${r.invalid ? '.is-invalid' : ''}`, { dataset: { reading: String(r.id) } },
      h('span.inv-time', fmtDateTime(r.time)),
      h('span.inv-code', codeLabel(r.code)),
      r.invalid ? h('s', value) : value,
      h('span.inv-src', r.source === 'device' ? (r.device || 'device') : (r.entered_by || 'manual')),
      note, actions(r));
  }

  function render() {
    clear(body);
    if (!rows.length) { body.append(h('p.card-meta', 'No readings in this period.')); return; }
    body.append(h('ul.inv-list', rows.map(row)));
  }

  // Never throws: a failure here shows in this card, not over the page.
  async function load() {
    const from = new Date(Date.now() - HOURS * 3600e3).toISOString();
    const q = new URLSearchParams({ from, limit: '1000', include_invalid: '1' });
    const got = [];
    let next = null;
    try {
      do {
        if (next) q.set('cursor', next);
        const r = await get(`/api/v1/patients/${patientId}/readings?${q}`);
        got.push(...(r.readings || []));
        next = r.next;
      } while (next && got.length < 5000);
    } catch (e) {
      if (e.status !== 401) showStatus(status, 'error', `Could not load the readings: ${e.describe ? e.describe() : e.message}`);
      return;
    }
    rows = got.slice(-SHOWN).reverse();
    if (openForm === null) render();
  }

  return { el, load };
}
