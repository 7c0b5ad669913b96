// alarmui: alarms you can hear at every screen (docs/dashboard.md
// "Alarms"). While an alert is active (not acknowledged, not resolved)
// this screen sounds the highest priority's pattern (alarm.js); an
// acknowledgement anywhere ends it everywhere, because every screen reads
// GET /api/v1/alerts again on each `alert` event. Browsers refuse sound
// until a click, so a screen without sound shows a banner with an
// "Enable sound" button until someone presses it, and every screen tells
// the server every SCREEN_BEAT_MS whether it can sound
// (POST /api/v1/screens/heartbeat), which the board shows to the charge
// nurse and /metrics counts. A pause (POST /api/v1/screens/{id}/pause,
// audited, two minutes) reaches every screen as a `sound` event and is
// shown on all of them while it lasts. High-priority alerts also raise a
// system notification while the tab is hidden, once the user allowed it.

import { get, post } from './api.js';
import { h, clear, setText, icon } from './dom.js';
import { fmtTime } from './format.js';
import { AlarmPlayer, soundingPriority } from './alarm.js';

const SCREEN_BEAT_MS = 30000;
const ALERTS_POLL_MS = 15000;
const SCREEN_KEY = 'wardd.screen';

function screenId() {
  let id = null;
  try { id = sessionStorage.getItem(SCREEN_KEY); } catch (e) { id = null; }
  if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    id = `scr-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
    try { sessionStorage.setItem(SCREEN_KEY, id); } catch (e) { /* private mode: one id per load */ }
  }
  return id;
}

const st = {
  ctx: null, player: new AlarmPlayer(), screen: null, timers: [], unsubscribe: null,
  priority: null, pausedUntil: 0, screens: [], pauses: new Map(), listeners: new Set(),
  bar: null, parts: null, notified: new Set(),
};

// ---- the bar under the header ---------------------------------------------------
function buildBar() {
  const enable = h('button#sound-enable.btn.btn-primary', { type: 'button' }, 'Enable sound');
  const pause = h('button#sound-pause.btn', { type: 'button', title: 'Pause alarm sound on this screen for 2 minutes' }, icon('pause'), 'Pause 2 min');
  const notify = h('button#notify-enable.btn', { type: 'button', hidden: true, title: 'Notify me of high-priority alerts when this tab is hidden' }, icon('bell'), 'Notify');
  // Browsers allow sound only after a click on the page: until then this
  // banner stays in the header, where every page shows it.
  const nosound = h('div#sound-banner.banner.sound-off', { role: 'alert', hidden: true,
    title: 'The browser needs a click on the page before it may sound alarms.' }, icon('warn'),
    h('span', 'Alarm sound is off on this screen'), enable);
  const paused = h('div#sound-paused.banner.banner-info.sound-paused', { role: 'status', hidden: true }, icon('clock'), h('span.paused-text'));
  const others = h('ul#sound-others.sound-others', { 'aria-label': 'Screens with sound paused', hidden: true });
  const status = h('span#sound-state.sound-state', { role: 'status' });
  const tools = h('div#sound-tools.sound-tools', status, pause, notify);
  const bar = h('div#alarm-bar.alarm-bar', paused, others);
  enable.addEventListener('click', async () => {
    await st.player.unlock();
    update();
    beat();
  });
  pause.addEventListener('click', async () => {
    pause.disabled = true;
    try {
      const r = await post(`/api/v1/screens/${st.screen}/pause`);
      setPaused(Date.parse(r.paused_until));
    } catch (e) {
      setText(status, `Not paused: ${e.describe ? e.describe() : e.message}`);
    } finally { pause.disabled = false; }
  });
  notify.addEventListener('click', async () => {
    try { await Notification.requestPermission(); } catch (e) { /* unsupported */ }
    update();
  });
  st.parts = { nosound, paused, others, status, pause, notify, tools };
  return bar;
}

function canPause() {
  return !!st.ctx && (st.ctx.station || st.ctx.can('nurse'));
}

function setPaused(until) {
  st.pausedUntil = Number.isFinite(until) && until > Date.now() ? until : 0;
  if (st.pausedUntil) st.player.stop(); else st.player.play(st.priority);
  update();
}

function update() {
  if (!st.parts) return;
  const p = st.parts;
  const now = Date.now();
  const paused = st.pausedUntil > now;
  p.nosound.hidden = st.player.canSound;
  p.paused.hidden = !paused;
  if (paused) setText(p.paused.querySelector('.paused-text'), `Alarm sound paused on this screen until ${fmtTime(new Date(st.pausedUntil).toISOString())}; alerts still show.`);
  p.pause.hidden = !canPause() || paused || !st.player.canSound;
  p.status.hidden = !st.player.canSound;
  p.notify.hidden = !('Notification' in window) || Notification.permission !== 'default';
  const sounding = st.player.canSound && !paused && st.priority;
  setText(p.status, !st.player.canSound ? 'No alarm sound' : paused ? 'Sound paused'
    : sounding ? `Sounding: ${st.priority}` : 'Sound on');
  document.body.dataset.sound = st.player.canSound ? (paused ? 'paused' : 'on') : 'off';
  clear(p.others);
  for (const [scr, x] of st.pauses) {
    if (scr === st.screen || x.until <= now) continue;
    p.others.append(h('li', icon('clock'), `Sound paused at ${x.who} until ${fmtTime(new Date(x.until).toISOString())}${x.by && x.by !== x.who ? ` (by ${x.by})` : ''}`));
  }
  p.others.hidden = !p.others.children.length;
}

// ---- alerts, heartbeats, events ---------------------------------------------------
async function refreshAlerts() {
  try {
    const r = await get('/api/v1/alerts?state=active');
    st.priority = soundingPriority(r.alerts);
  } catch (e) { return; }
  if (st.pausedUntil > Date.now()) st.player.stop(); else st.player.play(st.priority);
  update();
}

async function beat() {
  if (!st.screen) return;
  try {
    const r = await post('/api/v1/screens/heartbeat', { screen: st.screen, sound: st.player.canSound });
    const until = r.paused_until ? Date.parse(r.paused_until) : 0;
    if (until !== st.pausedUntil) setPaused(until);
    const list = await get('/api/v1/screens');
    st.screens = list.screens || [];
    for (const s of st.screens) {
      if (s.paused_until) st.pauses.set(s.screen, { who: s.who, until: Date.parse(s.paused_until), by: null });
    }
    for (const fn of st.listeners) fn(st.screens);
  } catch (e) { /* next beat */ }
  update();
}

function notifyHidden(a) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  if (a.priority !== 'high' || a.state !== 'active' || st.notified.has(`${a.id}:${a.priority}`)) return;
  st.notified.add(`${a.id}:${a.priority}`);
  try { new Notification('wardd: high-priority alert', { body: `${a.bed ? `${a.bed}: ` : ''}${a.message}`, tag: `wardd-alert-${a.id}` }); } catch (e) { /* */ }
}

function onEvent(ev) {
  if (ev.type === 'alert' && ev.data) { notifyHidden(ev.data); refreshAlerts(); }
  else if (ev.type === 'resync' || ev.type === 'reset') refreshAlerts();
  else if (ev.type === 'sound' && ev.data) {
    const until = Date.parse(ev.data.paused_until);
    const known = st.screens.find((s) => s.screen === ev.data.screen);
    st.pauses.set(ev.data.screen, { who: known ? known.who : ev.data.screen, until, by: ev.data.by });
    if (ev.data.screen === st.screen) setPaused(until); else update();
  }
}

// ---- public -------------------------------------------------------------------------------
// Starts after sign-in: ctx is main.js's (can(), live, station).
export function startAlarms(ctx) {
  stopAlarms();
  st.ctx = ctx;
  st.screen = screenId();
  st.player.onchange = () => { update(); beat(); };
  st.player.probe();
  st.bar = buildBar();
  // The bar's banners go under the header; its tools (state, pause,
  // notifications) into the header, which has room for them.
  const header = document.getElementById('topbar');
  header.after(st.bar);
  header.insertBefore(st.parts.nosound, header.querySelector('.userbox'));
  header.insertBefore(st.parts.tools, header.querySelector('.userbox'));
  st.unsubscribe = ctx.live.onEvent(onEvent);
  st.timers.push(setInterval(beat, SCREEN_BEAT_MS), setInterval(refreshAlerts, ALERTS_POLL_MS),
    setInterval(update, 5000));
  update();
  beat();
  refreshAlerts();
}

export function stopAlarms() {
  for (const t of st.timers) clearInterval(t);
  st.timers = [];
  if (st.unsubscribe) st.unsubscribe();
  st.unsubscribe = null;
  st.player.stop();
  if (st.bar) st.bar.remove();
  if (st.parts) { st.parts.tools.remove(); st.parts.nosound.remove(); }
  st.bar = null;
  st.parts = null;
  st.ctx = null;
}

// "station:Wall 2, nurse +3 more": each name once, the list kept short.
function names(screens) {
  const all = [...new Set(screens.map((s) => s.who))];
  return all.length > 6 ? `${all.slice(0, 6).join(', ')} +${all.length - 6} more` : all.join(', ');
}

// For the board: the ward's screens and whether each can sound, kept
// current with the heartbeats. Returns the element.
export function soundSummary() {
  const el = h('p#sound-summary.sound-summary', { 'aria-live': 'polite' });
  const render = (screens) => {
    const on = screens.filter((s) => s.can_sound);
    const off = screens.filter((s) => !s.can_sound);
    const text = `Alarm sound: ${on.length} screen${on.length === 1 ? '' : 's'} can sound` +
      (off.length ? `; ${off.length} cannot (${names(off)})` : '');
    clear(el).append(icon(off.length ? 'warn' : 'bell'), h('span', text));
    el.title = text;
    el.classList.toggle('has-silent', off.length > 0);
  };
  render(st.screens);
  st.listeners.clear(); // one board at a time
  st.listeners.add(render);
  return el;
}
