// techui: technical alerts on every screen (docs/dashboard.md "Technical
// alerts"): problems with wardd itself or its feeds — a filling disk, a
// monitor message naming the wrong patient — not with a patient. They
// must be seen before they stop the ward's data, and never be taken for a
// patient alarm: a slate "System" strip under the header (never the red
// and amber of clinical alerts), a polite status announcement (never
// role=alert), and no sound (alarmui.js reads only GET /api/v1/alerts).
//
// One list per screen, GET /api/v1/technical-alerts, read again on every
// `technical_alert` event and on each new connection of the event stream,
// on the fallback's periodic refresh while the stream is not live
// (main.js calls pollTechAlerts), and every TECH_POLL_MS in any case (a
// missed event, a clock-skewed server: the poll bounds how stale a list
// can get; raising, resolving and resolving by hand all publish the event). Nurses and up resolve one with a note
// (POST /api/v1/technical-alerts/{id}/resolve); viewers and stations read.
// The alerts page shows the same list, with recent resolved ones, through
// techSection().

import { post, optional } from './api.js';
import { h, icon, setText, clear, statusLine, showStatus } from './dom.js';
import { fmtTime, fmtAge } from './format.js';
import { techWords, activeTech, recentResolvedTech } from './technical.js';

const TECH_POLL_MS = 15000;

const st = {
  ctx: null, alerts: [], loaded: false, absent: false, timers: [], unsubscribe: null,
  bar: null, strip: null, list: null, announcer: null, rows: new Map(), listeners: new Set(),
  busy: false, again: false, known: null, gen: 0, // gen: one per sign-in, so a late answer of the last is dropped
};

// ---- one row: the words, the time, and (nurse and up) resolve with a note ---------
// Built once per alert and state, kept across refreshes, so an open form
// keeps its text and focus.
function buildRow(a, prefix) {
  const w = techWords(a);
  const time = h('span.tech-time');
  const actions = h('div.tech-actions');
  const status = statusLine('tech-status');
  const li = h('li.tech-row', { dataset: { tech: String(a.id), kind: a.kind || '', state: a.state || '' } },
    h('p.tech-text', h('strong.tech-title', `${w.title}:`), ` ${w.detail}`,
      w.advice ? h('span.tech-advice', ` ${w.advice}`) : null),
    time, actions, status);
  const r = { li, time, a, open: null };
  if (a.state === 'active' && st.ctx && st.ctx.can('nurse')) r.open = resolveForm(a, w, prefix, actions, status);
  return r;
}

function resolveForm(a, w, prefix, actions, status) {
  const id = `${prefix}-note-${a.id}`;
  const note = h('input', { type: 'text', name: 'note', id, maxlength: '500', autocomplete: 'off', required: true,
                            'aria-describedby': `${id}-hint` });
  const hint = h('span.hint', { id: `${id}-hint` }, 'What was done; saved in the audit log.');
  const confirm = h('button.btn.btn-primary', { type: 'submit' }, 'Confirm resolved');
  const cancel = h('button.btn.btn-quiet', { type: 'button' }, 'Cancel');
  const form = h('form.tech-form', { hidden: true, novalidate: true },
    h('label', { for: id }, 'Note'), note, confirm, cancel, hint);
  const open = h('button.btn.btn-tech', { type: 'button', 'aria-expanded': 'false', title: `Mark resolved: ${w.title}` },
    icon('check'), 'Mark resolved');
  const show = (on) => {
    form.hidden = !on;
    open.hidden = on;
    open.setAttribute('aria-expanded', String(on));
    actions.parentNode.classList.toggle('is-open', on);
  };
  open.addEventListener('click', () => { show(true); note.focus(); });
  cancel.addEventListener('click', () => { show(false); showStatus(status, '', ''); open.focus(); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = note.value.trim();
    if (!text) {
      showStatus(status, 'error', 'Write a note: what was done about it.');
      note.setAttribute('aria-invalid', 'true');
      note.focus();
      return;
    }
    note.removeAttribute('aria-invalid');
    confirm.disabled = true;
    showStatus(status, 'busy', 'Resolving…');
    try {
      await post(`/api/v1/technical-alerts/${a.id}/resolve`, { note: text });
      showStatus(status, 'ok', 'Resolved.');
      await refreshTech();
    } catch (e) {
      confirm.disabled = false;
      if (e.status === 409) { await refreshTech(); return; } // resolved meanwhile: the row goes
      showStatus(status, 'error', `Not resolved: ${e.describe ? e.describe() : e.message}`);
    }
  });
  actions.append(open, form);
  return open;
}

function tickRow(r) {
  const age = (Date.now() - Date.parse(r.a.raised_at)) / 1000;
  const when = r.a.raised_at ? `since ${fmtTime(r.a.raised_at)} · ${fmtAge(age)} ago` : 'time unknown';
  setText(r.time, r.a.state === 'active' ? when : `raised ${fmtTime(r.a.raised_at)} · resolved`);
}

// Puts `alerts` into `list` in order, reusing rows from `rows` (a Map), and
// keeps focus inside the list when the row holding it goes.
function place(list, rows, alerts, prefix) {
  const keep = new Set();
  let prev = null;
  for (const a of alerts) {
    const key = `${a.id}:${a.state}`;
    keep.add(key);
    let r = rows.get(key);
    if (!r) { r = buildRow(a, prefix); rows.set(key, r); }
    r.a = a;
    tickRow(r);
    const want = prev ? prev.nextSibling : list.firstChild;
    if (want !== r.li) list.insertBefore(r.li, want);
    prev = r.li;
  }
  for (const [k, r] of rows) {
    if (keep.has(k)) continue;
    const hadFocus = r.li.contains(document.activeElement);
    r.li.remove();
    rows.delete(k);
    if (hadFocus) focusAfterRemoval(list);
  }
}

function focusAfterRemoval(list) {
  const next = list.querySelector('.btn-tech:not([hidden])');
  const main = document.getElementById('main');
  const target = next || (main && (main.querySelector('h1') || main));
  if (target) target.focus();
}

function announce(text) {
  if (!st.announcer) return;
  // Cleared first so the same words twice are announced twice.
  setText(st.announcer, '');
  setTimeout(() => { if (st.announcer) setText(st.announcer, text); }, 50);
}

// ---- the strip under the header ----------------------------------------------------
function buildStrip() {
  st.list = h('ul.tech-list');
  st.strip = h('section#tech-strip.tech-strip', { 'aria-labelledby': 'tech-strip-label', hidden: true },
    h('p#tech-strip-label.tech-label', icon('server'), h('span', 'System'), h('span.tech-label-sub', 'not a patient alarm')),
    st.list);
  st.announcer = h('p#tech-announce.sr', { role: 'status', 'aria-live': 'polite' });
  st.bar = h('div#tech-bar.tech-bar', st.strip, st.announcer);
  return st.bar;
}

function render() {
  const active = activeTech(st.alerts);
  place(st.list, st.rows, active, 'tech');
  st.strip.hidden = active.length === 0;
  document.body.dataset.tech = String(active.length);
  // Announce lines that came or went (not the first load's: those are on
  // screen when the page opens, and the label says what they are).
  const now = new Map(active.map((a) => [a.id, techWords(a)]));
  if (st.known) {
    const said = [];
    for (const [id, w] of now) if (!st.known.has(id)) said.push(`System problem, not a patient: ${w.text}`);
    for (const [id, w] of st.known) if (!now.has(id)) said.push(`Resolved: ${w.title}.`);
    if (said.length) announce(said.join(' '));
  }
  st.known = now;
  for (const fn of st.listeners) { try { fn(); } catch (e) { /* a section's bug must not stop the strip */ } }
}

export async function refreshTech() {
  if (!st.ctx) return;
  if (st.busy) { st.again = true; return; }
  st.busy = true;
  const gen = st.gen;
  try {
    const r = await optional('technical-alerts', '/api/v1/technical-alerts');
    if (!st.ctx || gen !== st.gen) return;
    st.absent = !r.ok && r.absent;
    if (!r.ok) return; // absent: nothing to show; transient: keep the last list, ask again later
    st.alerts = Array.isArray(r.data.alerts) ? r.data.alerts : [];
    st.loaded = true;
    render();
  } finally {
    if (gen === st.gen) {
      st.busy = false;
      if (st.again && st.ctx) { st.again = false; refreshTech(); }
    }
  }
}

// The live stream's fallback refresh (main.js): while the stream is not live.
export function pollTechAlerts() { refreshTech().catch(() => {}); }

function onEvent(ev) {
  if (ev.type === 'technical_alert' || ev.type === 'resync' || ev.type === 'reset') refreshTech().catch(() => {});
}

// ---- public ----------------------------------------------------------------------------
// After sign-in; ctx is main.js's (can(), live, station). Goes under the
// header and the alarm bar.
export function startTechAlerts(ctx) {
  stopTechAlerts();
  st.ctx = ctx;
  const anchor = document.getElementById('alarm-bar') || document.getElementById('topbar');
  anchor.after(buildStrip());
  st.unsubscribe = ctx.live.onEvent(onEvent);
  st.timers.push(setInterval(pollTechAlerts, TECH_POLL_MS),
    setInterval(() => { for (const r of st.rows.values()) tickRow(r); }, 5000));
  pollTechAlerts();
}

export function stopTechAlerts() {
  for (const t of st.timers) clearInterval(t);
  st.timers = [];
  if (st.unsubscribe) st.unsubscribe();
  st.unsubscribe = null;
  if (st.bar) st.bar.remove();
  Object.assign(st, { ctx: null, alerts: [], loaded: false, bar: null, strip: null, list: null, announcer: null, known: null,
                      busy: false, again: false, gen: st.gen + 1 });
  st.rows.clear();
  delete document.body.dataset.tech;
}

// For the alerts page: the active technical alerts and the newest resolved
// ones, from the strip's list. Returns {el, unmount}.
export function techSection(ctx) {
  const rows = new Map();
  const list = h('ul.tech-list.tech-page-list');
  const empty = h('p.empty', { hidden: true }, 'No technical alerts.');
  const count = h('p.card-meta');
  const el = h('section.card.tech-section', { 'aria-labelledby': 'tech-section-title' },
    h('div.card-head', h('h2#tech-section-title', icon('server'), ' Technical alerts'), count),
    h('p.hint', 'Problems with wardd\'s storage or the monitor feeds, not with a patient; they do not sound.' +
      (ctx.can('nurse') ? '' : ' Resolving one needs a nurse, physician or admin login.')),
    list, empty);
  const render2 = () => {
    const active = activeTech(st.alerts);
    const resolved = recentResolvedTech(st.alerts, 10);
    place(list, rows, [...active, ...resolved], 'techp');
    empty.hidden = active.length + resolved.length > 0 || !st.loaded;
    setText(count, st.absent ? 'Not provided by this server' : !st.loaded ? 'Loading…'
      : `${active.length} active · ${resolved.length ? `last ${resolved.length} resolved` : 'none resolved'}`);
  };
  st.listeners.add(render2);
  render2();
  const tick = setInterval(() => { for (const r of rows.values()) tickRow(r); }, 5000);
  return { el, unmount() { st.listeners.delete(render2); clearInterval(tick); clear(list); } };
}
