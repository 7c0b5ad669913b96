// Patient view: the dose log and the "record dose" form. Giving a dose
// against a hold or discontinue recommendation is an override: only a
// physician may record it, with a reason (the server audits it).

import { post } from '../../api.js';
import { h, clear, setText, icon, statusLine, showStatus } from '../../dom.js';
import { decisionInfo, normDecision, fmtTime, fromLocalInput } from '../../format.js';
import { dataTable, pendingNote } from '../../components.js';
import { setNow, doseList, loadErrorNote } from './common.js';

const COLUMNS = [
  { label: 'Time', cell: (x) => fmtTime(x.time) },
  { label: 'Dose', cell: (x) => (x.dose_in_cycle || x.dose_number || x.number ? `#${x.dose_in_cycle || x.dose_number || x.number}` : '—') },
  { label: 'Status', cell: (x) => h(`span.dose-status.dose-${x.status}`, icon(x.status === 'given' ? 'check' : 'pause'), h('span', x.status)) },
  { label: 'Reason', cell: (x) => [x.reason || '—', x.override_reason ? h('span.sub.override', `override: ${x.override_reason}`) : null] },
  { label: 'By', cell: (x) => x.recorded_by || x.by || x.user || x.entered_by || '—' },
];

function formFields() {
  const f = {
    time: h('input#dose-time', { type: 'datetime-local', required: true }),
    given: h('input#dose-given', { type: 'radio', name: 'dose-status', value: 'given', checked: true }),
    held: h('input#dose-held', { type: 'radio', name: 'dose-status', value: 'held' }),
    reason: h('input#dose-reason', { type: 'text', maxlength: '500', autocomplete: 'off' }),
    override: h('textarea#dose-override', { rows: '2', maxlength: '1000' }),
    submit: h('button.btn.btn-primary', { type: 'submit' }, 'Record dose'),
    status: statusLine(),
    unavailable: h('p.muted', { hidden: true }),
  };
  f.time.addEventListener('input', () => { delete f.time.dataset.auto; });
  f.overrideText = h('span.override-text');
  f.overrideBox = h('div.override', { hidden: true },
    h('p.override-warn', icon('warn'), f.overrideText),
    h('label', { for: 'dose-override' }, 'Override reason (physician, audited)'), f.override);
  f.fs = h('fieldset.dose-fields',
    h('legend', 'Record dose'),
    h('div.field', h('label', { for: 'dose-time' }, 'Time'), f.time),
    h('div.field.radios', { role: 'radiogroup', 'aria-label': 'Dose status' },
      h('label.radio', { for: 'dose-given' }, f.given, 'Given'),
      h('label.radio', { for: 'dose-held' }, f.held, 'Held')),
    h('div.field', h('label', { for: 'dose-reason' }, 'Reason or note'), f.reason),
    f.overrideBox, h('div.form-actions', f.submit));
  f.form = h('form.dose-form', { novalidate: true }, f.fs, f.unavailable, f.status);
  return f;
}

// The record-dose form (nurse and up). onRecorded() reloads what a new
// dose changes.
function buildDoseForm(ctx, st, id, onRecorded) {
  const f = formFields();
  const physician = ctx.can('physician');
  const against = () => {
    const a = st.tox && normDecision(st.tox.decision).action;
    return a === 'hold' || a === 'discontinue' || a === 'discontinue_course' ? a : null;
  };
  const sync = () => {
    const a = against();
    const needs = f.given.checked && a;
    f.overrideBox.hidden = !needs;
    setText(f.overrideText, needs
      ? (physician
        ? `The recommendation is ${decisionInfo(a).text}. Giving this dose overrides it: state why.`
        : `The recommendation is ${decisionInfo(a).text}. Only a physician can record a dose given against it.`)
      : '');
    f.override.disabled = !physician;
    f.override.required = !!needs && physician;
    f.submit.disabled = f.fs.disabled || (needs && !physician);
  };
  f.given.addEventListener('change', sync);
  f.held.addEventListener('change', sync);
  f.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { time: f.time.dataset.auto ? new Date().toISOString() : fromLocalInput(f.time.value),
                   status: f.given.checked ? 'given' : 'held' };
    if (!body.time) { showStatus(f.status, 'error', 'Enter the time of the dose.'); return; }
    if (f.reason.value.trim()) body.reason = f.reason.value.trim();
    if (f.given.checked && against()) {
      if (!f.override.value.trim()) { showStatus(f.status, 'error', 'An override needs a reason.'); f.override.focus(); return; }
      body.override_reason = f.override.value.trim();
    }
    f.submit.disabled = true;
    showStatus(f.status, 'busy', 'Recording…');
    try {
      await post(`/api/v1/patients/${id}/doses`, body);
      showStatus(f.status, 'ok', `Dose recorded as ${body.status} at ${fmtTime(body.time)}.`);
      f.reason.value = ''; f.override.value = '';
      setNow(f.time);
      await onRecorded();
    } catch (e) {
      showStatus(f.status, 'error', `Not recorded: ${e.describe ? e.describe() : e.message}`);
    } finally { sync(); }
  });
  setNow(f.time);
  return {
    el: f.form,
    sync,
    setAvailable(ok, why) {
      f.fs.disabled = !ok;
      f.unavailable.hidden = ok;
      setText(f.unavailable, ok ? '' : why);
      sync();
    },
  };
}

// st: the view's state (doses, dosesState, dosesError, tox).
export function createDoseCard(ctx, st, id, onRecorded) {
  const body = h('div.dose-body');
  const form = ctx.can('nurse') ? buildDoseForm(ctx, st, id, onRecorded) : null;
  const el = h('section.card.doses', { 'aria-labelledby': 'dose-h' },
    h('div.card-head', h('h2#dose-h', 'Dose log')), body, form ? form.el : null);

  function render() {
    clear(body);
    if (st.dosesState !== 'ok') {
      if (st.dosesState === 'loading') body.append(h('p.muted', 'Loading…'));
      else if (st.dosesState === 'error') body.append(loadErrorNote('The dose log', st.dosesError));
      else body.append(pendingNote('The dose log is'));
      if (form) {
        form.setAvailable(false, { loading: 'Loading the dose log…',
          error: 'Recording doses waits until the dose log can be loaded.' }[st.dosesState] ||
          'Recording doses needs the dose log, which this server does not provide yet.');
      }
      return;
    }
    if (form) form.setAvailable(true);
    const list = [...doseList(st.doses)].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    if (!list.length) { body.append(h('p.muted', 'No dose recorded yet.')); return; }
    body.append(dataTable(COLUMNS, list.slice(0, 14), { cls: 'dose-table' }));
  }

  return { el, render, sync: () => { if (form) form.sync(); } };
}
