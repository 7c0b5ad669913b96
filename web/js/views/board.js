// Bed board (#/board, the home page): one tile per bed from GET
// /api/v1/ward. Tiles are built once and updated in place, so values
// change without moving anything and keyboard focus stays where it was.

import { get, optional } from '../api.js';
import { h, setText, icon, clear } from '../dom.js';
import { normDecision, compareBySeverity, compareBedIds } from '../format.js';
import { loadCatalogue } from '../catalogue.js';
import { buildTile, updateTile } from './board/tile.js';
import { setWardZone } from '../wardtime.js';
import { soundSummary } from '../alarmui.js';

// How often the board asks for each patient's schedule (cycle, day, dose)
// when /ward does not carry it; events about a patient refresh it at once.
const SCHEDULE_REFRESH_MS = 60 * 1000;

// A bed as the tiles show it, for sorting: the ward's decision and grade,
// else /toxicity's (extra).
function effective(b, extra) {
  const x = (b.patient && extra.get(b.patient.id)) || {};
  return { ...b,
    decision: normDecision(b.decision).action ? b.decision : (x.decision || b.decision),
    max_grade: Number.isInteger(b.max_grade) ? b.max_grade : (Number.isInteger(x.maxGrade) ? x.maxGrade : null) };
}

// "6 patients · 8 beds · 1 hold · 0 discontinue · 3 active alerts".
function summarize(beds, extra) {
  const occupied = beds.filter((b) => b.patient);
  let holds = 0, stops = 0, alerts = 0, evaluated = 0;
  for (const b of occupied) {
    const x = extra.get(b.patient.id) || {};
    const a = normDecision(b.decision).action || normDecision(x.decision).action;
    if (a) evaluated++;
    if (a === 'hold') holds++;
    if (a === 'discontinue' || a === 'discontinue_course') stops++;
    alerts += b.active_alerts || 0;
  }
  const text = `${occupied.length} patients · ${beds.length} beds` +
    (evaluated ? ` · ${holds} hold · ${stops} discontinue` : '') + ` · ${alerts} active alert${alerts === 1 ? '' : 's'}`;
  return { text, alerts, evaluated, occupied: occupied.length };
}

// Patient ids named by events other than readings (those refresh the
// patients' schedules at once).
function patientsIn(events) {
  const ids = new Set();
  for (const e of events || []) {
    const pid = e.data && (e.data.patient_id || (e.data.patient && e.data.patient.id));
    if (pid && e.type !== 'reading') ids.add(pid);
  }
  return ids;
}

// Longer than most functions on purpose: the board's state `st` (tiles,
// the ward, the per-patient extras) is shared by the short functions inside;
// the tile itself is board/tile.js.
export function mount(root, ctx, params = {}) {
  const kiosk = !!params.kiosk; // a wall display: large type, tiles lead nowhere
  // Phones show the board as one list, most severe first (app.css hides the sort).
  const phone = typeof matchMedia === 'function' && matchMedia('(max-width: 600px)').matches;
  const sortPref = () => { try { return localStorage.getItem('wardd.sort') === 'bed' ? 'bed' : 'severity'; } catch (e) { return 'severity'; } };
  const st = { ward: null, fetchedAt: 0, skewMs: 0, tiles: new Map(), sort: kiosk || phone ? 'severity' : sortPref(),
               extra: new Map(), extraAt: 0, alive: true, busy: false, again: false };

  const sortBtn = (value, text) => h('button.seg', {
    type: 'button', 'aria-pressed': String(st.sort === value), dataset: { sort: value },
    onclick: () => {
      st.sort = value;
      try { localStorage.setItem('wardd.sort', value); } catch (e) { /* private mode */ }
      for (const b of sortGroup.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.sort === value));
      layout();
    },
  }, text);
  const sortGroup = h('div.segmented', { role: 'group', 'aria-label': 'Sort beds by' },
    h('span.seg-label', 'Sort'), sortBtn('severity', 'Severity'), sortBtn('bed', 'Bed'));
  const summary = h('p.board-summary', { 'aria-live': 'polite' });
  const grid = h('div.board-grid', { id: 'board-grid' });
  const note = h('p.board-note', { hidden: true });
  const error = h('p.banner.banner-warn', { role: 'alert', hidden: true });
  root.append(h('section.board-view', { 'aria-labelledby': 'board-title' },
    h('div.board-bar', h('h1#board-title', { tabindex: '-1' }, 'Ward board'), summary, soundSummary(), kiosk ? null : sortGroup),
    error, grid, note));

  // What the tiles need besides the bed: the /toxicity summaries, the
  // server's clock skew, and ages counted on from the fetch.
  const tileView = {
    extra: st.extra,
    get skewMs() { return st.skewMs; },
    ageOf(v) {
      if (!v || typeof v.age_s !== 'number') return null;
      return v.age_s + (Date.now() - st.fetchedAt) / 1000;
    },
  };

  // Tiles in sort order; only tiles out of place move (a moved node
  // loses keyboard focus).
  function layout() {
    if (!st.ward) return;
    const beds = [...st.ward.beds].sort(st.sort === 'bed' ? (a, b) => compareBedIds(a.bed, b.bed)
      : (a, b) => compareBySeverity(effective(a, st.extra), effective(b, st.extra)));
    const want = new Set(beds.map((b) => b.bed));
    for (const [id, t] of st.tiles) if (!want.has(id)) { t.el.remove(); st.tiles.delete(id); }
    let prev = null;
    for (const bed of beds) {
      let t = st.tiles.get(bed.bed);
      const pid = bed.patient ? bed.patient.id : null;
      if (t && t.patientId !== pid) { t.el.remove(); t = null; }
      if (!t) { t = buildTile(bed, ctx.can('nurse'), kiosk); st.tiles.set(bed.bed, t); }
      updateTile(t, bed, tileView);
      const expectedAfter = prev ? prev.nextSibling : grid.firstChild;
      if (expectedAfter !== t.el) grid.insertBefore(t.el, expectedAfter);
      prev = t.el;
    }
    const sum = summarize(beds, st.extra);
    setText(summary, sum.text);
    ctx.setAlertCount(sum.alerts);
    note.hidden = sum.evaluated > 0 || sum.occupied === 0;
    setText(note, 'Grades and dose decisions are not evaluated by this server yet; vitals are live.');
  }

  // Per-patient schedule (and decision reasons) from /toxicity, when the
  // ward view does not carry them. Sequential, so a server without the
  // engine answers one 404, not one per bed.
  async function refreshExtra(force, onlyIds) {
    if (!st.ward) return;
    const needed = st.ward.beds.filter((b) => b.patient && (!b.schedule || !normDecision(b.decision).top));
    if (!needed.length) return;
    if (!force && Date.now() - st.extraAt < SCHEDULE_REFRESH_MS) return;
    st.extraAt = Date.now();
    for (const b of needed) {
      if (onlyIds && !onlyIds.has(b.patient.id)) continue;
      const r = await optional('toxicity', `/api/v1/patients/${b.patient.id}/toxicity`);
      if (!st.alive) return;
      if (!r.ok) { if (r.absent) break; continue; }
      const terms = Array.isArray(r.data.terms) ? r.data.terms : [];
      const grades = terms.map((x) => x.grade).filter(Number.isInteger);
      st.extra.set(b.patient.id, { schedule: r.data.schedule || null, decision: r.data.decision || null,
                                   maxGrade: grades.length ? Math.max(...grades) : null });
    }
    layout();
  }

  async function refresh(why = {}) {
    if (st.busy) { st.again = true; return; }
    st.busy = true;
    try {
      // The catalogue names the codes a tile may mention ("No recent …");
      // without it the codes themselves are shown.
      const [ward] = await Promise.all([get('/api/v1/ward'), loadCatalogue().catch(() => null)]);
      setWardZone(ward.time_zone && ward.time_zone.name);
      if (!st.alive) return;
      st.ward = ward;
      st.fetchedAt = Date.now();
      const at = Date.parse(ward.at);
      st.skewMs = Number.isFinite(at) ? at - st.fetchedAt : 0;
      error.hidden = true;
      ctx.markUpdated();
      layout();
      const ids = patientsIn(why.events);
      if (why.reason === 'mount') refreshExtra(true).catch(() => {});
      else if (ids.size) refreshExtra(true, ids).catch(() => {});
      else refreshExtra(false).catch(() => {});
    } catch (e) {
      if (!st.alive) return;
      if (e.status === 401) return;
      error.hidden = false;
      clear(error).append(icon('warn'), h('span', `Could not refresh the board: ${e.describe ? e.describe() : e.message}. Showing the last data received; ages keep counting.`));
    } finally {
      st.busy = false;
      if (st.again && st.alive) { st.again = false; refresh(why); }
    }
  }

  function tick() {
    if (!st.ward) return;
    for (const bed of st.ward.beds) {
      const t = st.tiles.get(bed.bed);
      if (t) updateTile(t, bed, tileView);
    }
  }

  refresh({ reason: 'mount' });
  return {
    title: 'Ward board',
    refresh,
    tick,
    unmount() { st.alive = false; },
  };
}
