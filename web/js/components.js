// components: pieces shared by several views (badges, the alert list with
// its acknowledge flow, two-step confirm buttons, simple tables).

import { post } from './api.js';
import { h, icon, clear, setText, statusLine, showStatus } from './dom.js';
import { gradeInfo, decisionInfo, fmtTime, fmtAge, compareAlerts, codeLabel, fmtValue } from './format.js';

export function gradeBadge(g, opts = {}) {
  const gi = gradeInfo(g);
  return h(`span.grade.${gi.cls}${opts.small ? '.grade-sm' : ''}`,
    { title: gi.grade === null ? 'Grade not evaluated' : `CTCAE grade ${gi.num}: ${gi.word}` },
    opts.small ? null : h('span.grade-k', 'Grade'), h('span.grade-num', gi.num), h('span.grade-word', gi.word));
}

export function decisionBadge(action, opts = {}) {
  const di = decisionInfo(action);
  return h(`span.decision.${di.cls}${opts.big ? '.decision-big' : ''}`,
    h('span.dec-icon', icon(di.icon)), h('span.dec-text', di.text));
}

const PRIORITY_INFO = {
  high: { text: 'HIGH', icon: 'warn', cls: 'prio-high' },
  medium: { text: 'MEDIUM', icon: 'bell', cls: 'prio-medium' },
  low: { text: 'LOW', icon: 'info', cls: 'prio-low' },
};
export function priorityBadge(p) {
  const pi = PRIORITY_INFO[p] || { text: String(p || '—').toUpperCase(), icon: 'info', cls: 'prio-low' };
  return h(`span.prio.${pi.cls}`, icon(pi.icon), h('span', pi.text));
}

// The evidence behind a grade or a rule: "temp 39.4 at 14:03".
export function evidenceText(ev) {
  if (!Array.isArray(ev) || !ev.length) return '—';
  return ev.map((e) => {
    const code = e.code || '?';
    const base = code.includes('.') ? code : codeLabel(code);
    const agg = e.aggregate ? ` (${e.aggregate}${e.window_h ? ` ${e.window_h} h` : ''})` : '';
    const v = typeof e.value === 'number' ? fmtValue(code, e.value) : String(e.value);
    return `${base}${agg} ${v}${e.time ? ` at ${fmtTime(e.time)}` : ''}`;
  }).join('; ');
}

// A button that asks once more before doing something that cannot be
// undone (no window.confirm: it blocks the page and a wall display).
export function confirmButton(label, confirmLabel, action, opts = {}) {
  const wrap = h('span.confirm');
  const first = h(`button.btn${opts.danger ? '.btn-danger-outline' : ''}`, { type: 'button' }, label);
  const yes = h(`button.btn${opts.danger ? '.btn-danger' : '.btn-primary'}`, { type: 'button' }, confirmLabel);
  const no = h('button.btn.btn-quiet', { type: 'button' }, 'Cancel');
  const ask = h('span.confirm-ask', { hidden: true }, yes, no);
  first.addEventListener('click', () => { first.hidden = true; ask.hidden = false; yes.focus(); });
  no.addEventListener('click', () => { ask.hidden = true; first.hidden = false; first.focus(); });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try { await action(); } finally { yes.disabled = false; ask.hidden = true; first.hidden = false; }
  });
  wrap.append(first, ask);
  return wrap;
}

// Alert list with acknowledge-with-note. `alerts` as in GET /api/v1/alerts.
// opts: {ctx, showPatient, onChanged, emptyText}
// Longer than most functions on purpose: a closure whose short inner
// functions share the rows built so far and the open acknowledge forms.
export function alertList(opts) {
  const list = h('ul.alert-list');
  const empty = h('p.empty', { hidden: true });
  const el = h('div.alert-block', list, empty);
  const rows = new Map();
  let alerts = [];

  function escalation(a) {
    const lvl = a.escalations ?? a.escalation_level ?? a.escalation ?? null;
    if (a.state === 'active' && (a.escalated || a.escalated_at || (typeof lvl === 'number' && lvl > 0))) {
      const at = a.escalated_at ? ` at ${fmtTime(a.escalated_at)}` : '';
      const from = a.base_priority && a.base_priority !== a.priority ? `, was ${a.base_priority}` : '';
      return { cls: 'esc-up', text: `Escalated${typeof lvl === 'number' ? ` (level ${lvl}${from})` : ''}${at}`, icon: 'warn' };
    }
    if (a.state === 'active') {
      const age = (Date.now() - Date.parse(a.raised_at)) / 1000;
      return { cls: 'esc-wait', text: `Not acknowledged · ${fmtAge(age)}`, icon: 'clock' };
    }
    if (a.state === 'acknowledged') {
      return { cls: 'esc-ack', text: `Acknowledged${a.acked_by ? ` by ${a.acked_by}` : ''} at ${fmtTime(a.acked_at)}${a.note || a.ack_note ? ` — “${a.note || a.ack_note}”` : ''}`, icon: 'check' };
    }
    if (a.state === 'resolved') {
      return { cls: 'esc-res', text: `Resolved at ${fmtTime(a.resolved_at)}`, icon: 'check' };
    }
    return { cls: '', text: a.state || '', icon: 'info' };
  }

  function row(a) {
    const esc = h('span.esc');
    const raised = h('span.raised');
    const actions = h('div.alert-actions');
    const status = statusLine();
    const who = [];
    if (opts.showPatient) {
      who.push(h('span.alert-bed', a.bed || '—'));
      if (a.patient_id) who.push(h('a.alert-patient', { href: `#/patient/${a.patient_id}` }, (opts.patientName && opts.patientName(a.patient_id)) || a.patient_name || `Patient ${a.patient_id}`));
    }
    const termBits = [a.kind ? a.kind.replace(/_/g, ' ') : null,
      a.term ? `${a.term.replace(/_/g, ' ')}${Number.isInteger(a.grade) ? ` · grade ${a.grade}` : ''}` : null].filter(Boolean).join(' · ');
    const li = h('li.alert-row', { dataset: { alert: String(a.id), state: a.state || '' } },
      h('div.alert-prio', priorityBadge(a.priority)),
      h('div.alert-main',
        who.length ? h('div.alert-who', who) : null,
        h('p.alert-msg', a.message || termBits || 'Alert'),
        termBits && a.message ? h('p.alert-kind', termBits) : null),
      h('div.alert-time', raised, esc),
      actions, status);
    const r = { li, esc, raised, a };
    if (a.state === 'active' && opts.ctx.can('nurse')) {
      const note = h('input', { type: 'text', name: 'note', maxlength: '500', autocomplete: 'off', id: `ack-note-${a.id}` });
      const confirm = h('button.btn.btn-primary', { type: 'submit' }, 'Confirm acknowledge');
      const cancel = h('button.btn.btn-quiet', { type: 'button' }, 'Cancel');
      const form = h('form.ack-form', { hidden: true },
        h('label', { for: `ack-note-${a.id}` }, 'Note (what was done)'), note, confirm, cancel);
      const open = h('button.btn.btn-ack', { type: 'button', 'aria-expanded': 'false' }, icon('check'), 'Acknowledge');
      open.addEventListener('click', () => { open.hidden = true; form.hidden = false; open.setAttribute('aria-expanded', 'true'); note.focus(); });
      cancel.addEventListener('click', () => { form.hidden = true; open.hidden = false; open.setAttribute('aria-expanded', 'false'); open.focus(); });
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        confirm.disabled = true;
        showStatus(status, 'busy', 'Acknowledging…');
        try {
          await post(`/api/v1/alerts/${a.id}/ack`, { note: note.value.trim() });
          showStatus(status, 'ok', 'Acknowledged.');
          if (opts.onChanged) await opts.onChanged();
        } catch (e) {
          confirm.disabled = false;
          showStatus(status, 'error', `Not acknowledged: ${e.describe ? e.describe() : e.message}`);
        }
      });
      actions.append(open, form);
    }
    return r;
  }

  function tick() {
    for (const r of rows.values()) {
      const e = escalation(r.a);
      setText(r.raised, `Raised ${fmtTime(r.a.raised_at)} · ${fmtAge((Date.now() - Date.parse(r.a.raised_at)) / 1000)} ago`);
      r.esc.className = `esc ${e.cls}`;
      clear(r.esc).append(icon(e.icon), h('span', e.text));
    }
  }

  function set(next) {
    alerts = [...next].sort(compareAlerts);
    const keep = new Set();
    let prev = null;
    for (const a of alerts) {
      const key = `${a.id}:${a.state}:${a.priority}:${a.escalations ?? a.escalation_level ?? ''}:${a.escalated_at ?? ''}`;
      keep.add(key);
      let r = rows.get(key);
      if (!r) { r = row(a); rows.set(key, r); }
      r.a = a;
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== r.li) list.insertBefore(r.li, want);
      prev = r.li;
    }
    for (const [k, r] of rows) if (!keep.has(k)) { r.li.remove(); rows.delete(k); }
    empty.hidden = alerts.length > 0;
    setText(empty, opts.emptyText || 'No alerts.');
    tick();
  }

  return { el, set, tick };
}

// A definition-style table: [[label, value], ...]
export function kvTable(pairs, cls = '') {
  return h(`table.kv${cls ? '.' + cls : ''}`, h('tbody', pairs.map(([k, v]) => h('tr', h('th', { scope: 'row' }, k), h('td', v)))));
}

// A data table; columns: [{label, cell: (row) => node|string, cls}]
export function dataTable(columns, rows, opts = {}) {
  return h(`table.data${opts.cls ? '.' + opts.cls : ''}`,
    opts.caption ? h('caption', opts.caption) : null,
    h('thead', h('tr', columns.map((c) => h('th', { scope: 'col', class: c.cls || null }, c.label)))),
    h('tbody', rows.map((r) => h('tr', opts.rowAttrs ? opts.rowAttrs(r) : null,
      columns.map((c) => h('td', { class: c.cls || null }, c.cell(r)))))));
}

// A neutral "not available yet" panel for endpoints of the engine.
export function pendingNote(what) {
  return h('p.pending', icon('info'), h('span', `${what} not evaluated: this server does not provide it yet.`));
}
