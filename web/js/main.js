// main: session, header, hash router and the shared clock of the
// dashboard. Routes:
//   #/login   #/board (home)   #/patient/{id}   #/alerts[?state=]
//   #/admin/{patients|beds|devices|users|rules|audit}
// Each view module exports mount(root, ctx, params) -> {title, refresh(why),
// tick(), unmount()}; `refresh` is what live updates call.

import { get, del, onUnauthorized } from './api.js';
import { Live } from './live.js';
import { h, clear, icon, setText, setIcon } from './dom.js';
import { fmtAge } from './format.js';
import { setWardZone } from './wardtime.js';
import * as loginView from './views/login.js';
import * as boardView from './views/board.js';
import * as patientView from './views/patient.js';
import * as alertsView from './views/alerts.js';
import * as adminView from './views/admin.js';
import * as handoverView from './views/handover.js';
import { startAlarms, stopAlarms } from './alarmui.js';
import { startTechAlerts, stopTechAlerts, pollTechAlerts } from './techui.js';
import { kioskToken, forgetKiosk, kioskRefused } from './kiosk.js';

const ROLE_RANK = { viewer: 1, nurse: 2, physician: 3, admin: 4 };
// Ages on screen are recomputed this often, without asking the server.
const TICK_MS = 5000;
// Set after a login so a reload asks the server for the session; without it
// the login page shows at once (asking would log a 401 in the console).
const SESSION_HINT = 'wardd.signedIn';

const main = document.getElementById('main');
const live = new Live();
const ctx = {
  user: null,
  role: null,
  station: false, // a wall-display station (kiosk.js): board only
  can(min) { return !!this.user && (ROLE_RANK[this.role] || 0) >= (ROLE_RANK[min] || 99); },
  setAlertCount(n) { header.setAlerts(n); },
  markUpdated() { lastUpdate = Date.now(); header.tickUpdated(); },
  signedIn(user, next) { signIn(user); location.hash = next && next !== '#/login' ? next : '#/board'; },
  live,
};
let view = null;
let lastUpdate = 0;

// ---- header -----------------------------------------------------------------------
const header = (() => {
  const bar = document.getElementById('topbar');
  const nav = h('nav.mainnav', { 'aria-label': 'Main' });
  const connIcon = h('span.conn-icon');
  const connText = h('span.conn-text');
  const connDetail = h('span.conn-detail');
  const conn = h('div.conn', { id: 'conn', role: 'status', 'aria-live': 'polite', dataset: { state: 'idle' } },
    connIcon, h('span.conn-words', connText, connDetail));
  const who = h('span.who');
  const logout = h('button.btn.btn-quiet.btn-logout', { type: 'button' }, 'Sign out');
  const alertBadge = h('span.nav-count', { hidden: true });
  let links = [];
  logout.addEventListener('click', async () => {
    try { await del('/api/v1/session'); } catch (e) { /* signed out either way */ }
    signOut('logout');
  });
  bar.append(h('a.brand', { href: '#/board' }, icon('pulse'), h('span', 'wardd')), nav, conn, h('div.userbox', who, logout));

  function build() {
    clear(nav);
    links = (ctx.station ? [] : [
      ['board', '#/board', 'Board'],
      ['alerts', '#/alerts', 'Alerts'],
      ['handover', '#/handover', 'Handover'],
      ['admin', '#/admin/patients', ctx.can('admin') ? 'Administration' : 'Patients'],
    ]).map(([key, href, text]) => {
      const a = h('a', { href, dataset: { nav: key } }, text, key === 'alerts' ? alertBadge : null);
      nav.append(a);
      return a;
    });
    setText(who, ctx.station ? `${ctx.user.username.replace(/^station:/, '')} · station` : `${ctx.user.username} · ${ctx.role}`);
    logout.hidden = ctx.station;
    nav.hidden = ctx.station;
    bar.hidden = false;
  }
  function current(key) {
    for (const a of links) {
      if (a.dataset.nav === key) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
  }
  function setConn(state) {
    const d = live.describe();
    conn.dataset.state = state;
    conn.className = `conn ${d.cls}`;
    conn.title = d.detail;
    setIcon(connIcon, d.icon);
    setText(connText, d.text);
    tickUpdated();
  }
  function tickUpdated() {
    const d = live.describe();
    const ago = lastUpdate ? `updated ${fmtAge((Date.now() - lastUpdate) / 1000)} ago` : '';
    setText(connDetail, [d.note, ago].filter(Boolean).join(' · '));
  }
  function setAlerts(n) {
    alertBadge.hidden = !n;
    setText(alertBadge, n ? String(n) : '');
    alertBadge.setAttribute('aria-label', `${n} active`);
  }
  return { build, current, setConn, tickUpdated, setAlerts, hide() { bar.hidden = true; } };
})();

// ---- session ---------------------------------------------------------------------------
function signIn(user) {
  ctx.user = user;
  ctx.role = user.role;
  document.body.dataset.role = user.role;
  try { localStorage.setItem(SESSION_HINT, '1'); } catch (e) { /* private mode */ }
  header.build();
  live.start();
  get('/api/v1/ward').then((w) => setWardZone(w.time_zone && w.time_zone.name), () => {});
  startAlarms(ctx);
  startTechAlerts(ctx);
}

function signOut(reason) {
  const was = ctx.user;
  ctx.user = null;
  ctx.role = null;
  delete document.body.dataset.role;
  try { localStorage.removeItem(SESSION_HINT); } catch (e) { /* */ }
  stopAlarms();
  stopTechAlerts();
  live.stop();
  header.hide();
  if (ctx.station) { forgetKiosk(); location.hash = '#/kiosk'; kioskRefused(main); return; }
  const next = reason === 'expired' && location.hash && !location.hash.startsWith('#/login') ? `&next=${encodeURIComponent(location.hash)}` : '';
  location.hash = `#/login?reason=${reason}${next}`;
  if (!was) route();
}

const expired = () => { if (ctx.user) signOut('expired'); };
onUnauthorized(expired);
live.onUnauthorized = expired;
live.onState((s) => header.setConn(s));

// ---- router ------------------------------------------------------------------------------
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/board';
  const [path, qs] = raw.split('?');
  const query = Object.fromEntries(new URLSearchParams(qs || ''));
  const parts = path.split('/').filter(Boolean);
  return { parts, query };
}

function route() {
  const { parts, query } = parseHash();
  let mod = null, params = { query }, nav = '';
  if (ctx.station && parts[0] !== 'kiosk') {
    location.replace('#/kiosk');
    return;
  }
  if (!ctx.user && parts[0] === 'kiosk') {
    kioskRefused(main);
    return;
  }
  if (!ctx.user) {
    if (parts[0] !== 'login') {
      location.replace(`#/login${location.hash && location.hash !== '#/' ? `?next=${encodeURIComponent(location.hash)}` : ''}`);
      return;
    }
    mod = loginView;
  } else if (parts[0] === 'login') {
    location.replace('#/board');
    return;
  } else if (parts[0] === 'board' || parts.length === 0) {
    mod = boardView; nav = 'board';
  } else if (parts[0] === 'kiosk') {
    mod = boardView; nav = 'board'; params.kiosk = true;
  } else if (parts[0] === 'handover') {
    mod = handoverView; params.id = /^\d+$/.test(parts[1] || '') ? parts[1] : null; nav = 'handover';
  } else if (parts[0] === 'patient' && /^\d+$/.test(parts[1] || '')) {
    mod = patientView; params.id = parts[1]; nav = 'board';
  } else if (parts[0] === 'alerts') {
    mod = alertsView; nav = 'alerts';
  } else if (parts[0] === 'admin') {
    mod = adminView; params.section = parts[1] || 'patients'; nav = 'admin';
  } else {
    location.replace('#/board');
    return;
  }
  if (view && view.unmount) {
    try { view.unmount(); } catch (e) { /* a view's cleanup must not break navigation */ }
  }
  live.setRefresher(null);
  clear(main);
  main.className = `view-${mod === loginView ? 'login' : nav || 'x'}`;
  document.body.classList.toggle('kiosk', !!params.kiosk);
  view = mod.mount(main, ctx, params) || {};
  document.title = `${view.title || 'wardd'} · wardd`;
  header.current(nav);
  // The fallback's periodic refresh (live.js) also reads the technical
  // alerts, whose strip is outside the views (techui.js).
  const v = view;
  live.setRefresher((why) => {
    if (why && why.reason === 'poll') pollTechAlerts();
    return v.refresh ? v.refresh(why) : undefined;
  });
  // Move focus to the new page's heading (screen readers announce it);
  // but not on first load, where the browser's own focus start is fine.
  const heading = main.querySelector('h1');
  if (heading && routed) heading.focus({ preventScroll: false });
  routed = true;
  window.scrollTo(0, 0);
}
let routed = false;

// ---- clock ----------------------------------------------------------------------------------
setInterval(() => {
  if (view && view.tick) {
    try { view.tick(); } catch (e) { /* keep ticking */ }
  }
  header.tickUpdated();
}, TICK_MS);

// Skip link: focus the page content without touching the route.
document.querySelector('.skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  const target = main.querySelector('h1') || main;
  target.focus();
});

// ---- boot ------------------------------------------------------------------------------------
async function boot() {
  let hinted = false;
  try { hinted = localStorage.getItem(SESSION_HINT) === '1'; } catch (e) { hinted = false; }
  if (kioskToken()) {
    ctx.station = true;
    try {
      const r = await get('/api/v1/session');
      if (r && r.user) { signIn(r.user); if (!location.hash.startsWith('#/kiosk')) location.replace('#/kiosk'); }
    } catch (e) {
      if (e.status === 401) { ctx.station = false; forgetKiosk(); }
    }
    hinted = false;
  }
  if (hinted) {
    try {
      const r = await get('/api/v1/session');
      if (r && r.user) signIn(r.user);
    } catch (e) {
      try { localStorage.removeItem(SESSION_HINT); } catch (e2) { /* */ }
    }
  }
  window.addEventListener('hashchange', route);
  route();
}
boot();
