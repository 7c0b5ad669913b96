// Bed board (#/board, the home page): one tile per bed from GET
// /api/v1/ward. Tiles are built once and updated in place, so values
// change without moving anything and keyboard focus stays where it was.

import { get, optional } from '../api.js';
import { h, setText, setClass, setPrefixedClass, setIcon, icon, clear } from '../dom.js';
import {
  gradeInfo, decisionInfo, normDecision, scheduleText, staleness, fmtAge, fmtValue,
  unitWord, compareBySeverity, compareBedIds, DEVICE_SILENT_S,
} from '../format.js';
import { setWardZone } from '../wardtime.js';

const VITALS = [
  { key: 'hr', label: 'HR', codes: ['hr'] },
  { key: 'bp', label: 'BP', codes: ['sbp', 'dbp'] },
  { key: 'spo2', label: 'SpO₂', codes: ['spo2'] },
  { key: 'temp', label: 'Temp', codes: ['temp'] },
  { key: 'rr', label: 'RR', codes: ['rr'] },
];

// How often the board asks for each patient's schedule (cycle, day, dose)
// when /ward does not carry it; events about a patient refresh it at once.
const SCHEDULE_REFRESH_MS = 60 * 1000;

export function mount(root, ctx) {
  const sortPref = () => { try { return localStorage.getItem('wardd.sort') === 'bed' ? 'bed' : 'severity'; } catch (e) { return 'severity'; } };
  const st = { ward: null, fetchedAt: 0, skewMs: 0, tiles: new Map(), sort: sortPref(),
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
    h('div.board-bar', h('h1#board-title', { tabindex: '-1' }, 'Ward board'), summary, sortGroup),
    error, grid, note));

  function bedAge(v) {
    if (!v || typeof v.age_s !== 'number') return null;
    return v.age_s + (Date.now() - st.fetchedAt) / 1000;
  }

  function buildTile(bed) {
    const p = bed.patient;
    const t = { id: bed.bed, patientId: p ? p.id : null, vit: {} };
    if (!p) {
      const admit = ctx.can('nurse');
      t.el = h(admit ? 'a.tile.tile-empty' : 'div.tile.tile-empty',
        admit ? { href: `#/admin/patients?bed=${encodeURIComponent(bed.bed)}`, dataset: { bed: bed.bed } }
              : { dataset: { bed: bed.bed } });
      t.label = h('span.bed-label');
      t.dev = h('span.dev-text');
      t.devIcon = h('span.dev-icon');
      t.el.append(
        h('div.tile-head', t.label, h('span.pt-name.muted', 'Empty bed')),
        h('div.tile-empty-body', icon('bed', 'icon-xl'), h('span', admit ? 'Admit a patient' : 'No patient')),
        h('div.tile-foot', h('span.dev', t.devIcon, t.dev)));
      return t;
    }
    t.el = h('a.tile', { href: `#/patient/${p.id}`, dataset: { bed: bed.bed, patient: String(p.id) } });
    t.label = h('span.bed-label');
    t.name = h('span.pt-name');
    t.sched = h('span.sched');
    t.decIcon = h('span.dec-icon');
    t.decText = h('span.dec-text');
    t.dec = h('span.decision', t.decIcon, t.decText);
    t.gradeNum = h('span.grade-num');
    t.gradeWord = h('span.grade-word');
    t.grade = h('span.grade', h('span.grade-k', { 'aria-hidden': 'true' }, 'G'), h('span.sr', 'highest grade '), t.gradeNum, t.gradeWord);
    t.alerts = h('span.alert-n');
    t.alertChip = h('span.chip-alerts', icon('bell'), t.alerts, h('span.sr', ' active alerts'));
    t.reason = h('p.reason');
    const vit = h('div.vitals');
    for (const v of VITALS) {
      const cell = { val: h('span.val'), unit: h('span.unit'), age: h('span.age') };
      cell.el = h('div.vital', { dataset: { code: v.key } },
        h('span.vhead', h('span.vlabel', v.label), cell.unit), h('span.vline', cell.val), cell.age);
      t.vit[v.key] = cell;
      vit.append(cell.el);
    }
    t.dev = h('span.dev-text');
    t.devIcon = h('span.dev-icon');
    t.el.append(
      h('div.tile-head', t.label, t.name),
      h('div.tile-sub', t.sched, t.grade, t.alertChip),
      h('div.tile-status', t.dec),
      t.reason, vit,
      h('div.tile-foot', h('span.dev', t.devIcon, t.dev)));
    return t;
  }

  function updateTile(t, bed) {
    setText(t.label, bed.label || bed.bed);
    updateDevices(t, bed);
    if (!bed.patient) return;
    const x = st.extra.get(bed.patient.id) || {};
    setText(t.name, bed.patient.name);
    t.el.setAttribute('aria-label', `${bed.label || bed.bed}: ${bed.patient.name}, open patient view`);
    const sched = scheduleText(bed.schedule || x.schedule);
    setText(t.sched, sched || 'Schedule not evaluated');
    setClass(t.sched, 'muted', !sched);

    let dec = normDecision(bed.decision);
    if (!dec.action && x.decision) dec = normDecision(x.decision);
    const top = dec.top || (x.decision ? normDecision(x.decision).top : null);
    const di = decisionInfo(dec.action);
    setPrefixedClass(t.dec, 'dec-', di.cls);
    setIcon(t.decIcon, di.icon);
    setText(t.decText, di.text);
    setPrefixedClass(t.el, 'sev-', `sev-${di.cls.slice(4)}`);
    setText(t.reason, dec.action ? (top || (dec.action === 'give' ? 'No rule asks to hold' : '')) : 'Grades and dose decision not evaluated');
    setClass(t.reason, 'muted', !dec.action || !top);

    const maxGrade = Number.isInteger(bed.max_grade) ? bed.max_grade : x.maxGrade;
    const gi = gradeInfo(maxGrade);
    setPrefixedClass(t.grade, 'grade-', gi.cls);
    setText(t.gradeNum, gi.num);
    setText(t.gradeWord, gi.short);

    const latest = bed.latest || {};
    for (const v of VITALS) {
      const c = t.vit[v.key];
      const items = v.codes.map((code) => latest[code]);
      const ages = items.map(bedAge).filter((a) => a !== null);
      const age = ages.length ? Math.max(...ages) : null;
      const s = staleness(age);
      let text;
      if (s === 'none' || s === 'old') text = '—';
      else if (v.key === 'bp') text = `${fmtValue('sbp', items[0] && items[0].value)}/${fmtValue('dbp', items[1] && items[1].value)}`;
      else text = fmtValue(v.codes[0], items[0].value);
      setText(c.val, text);
      const u = items.find(Boolean);
      setText(c.unit, s === 'none' || s === 'old' ? '' : v.key === 'bp' ? 'mmHg' : unitWord(u && u.unit));
      setText(c.age, s === 'none' ? 'no data' : s === 'old' ? 'no recent data' : s === 'stale' ? `stale · ${fmtAge(age)}` : fmtAge(age));
      setPrefixedClass(c.el, 'is-', `is-${s}`);
    }
    const n = Number.isInteger(bed.active_alerts) ? bed.active_alerts : 0;
    setText(t.alerts, String(n));
    t.alertChip.title = `${n} active alert${n === 1 ? '' : 's'}`;
    setClass(t.alertChip, 'has-alerts', n > 0);
    t.grade.title = gi.grade === null ? 'Highest current grade: not evaluated' : `Highest current CTCAE grade: ${gi.num} (${gi.word})`;
  }

  function updateDevices(t, bed) {
    const devs = Array.isArray(bed.devices) ? bed.devices : [];
    if (!devs.length) {
      setText(t.dev, 'No device assigned');
      setIcon(t.devIcon, 'info');
      setPrefixedClass(t.dev.parentNode, 'dev-', 'dev-none');
      return;
    }
    // The least recently heard device decides the bed's freshness.
    let worst = null, worstAge = -1;
    for (const d of devs) {
      const age = d.last_seen ? (Date.now() + st.skewMs - Date.parse(d.last_seen)) / 1000 : Infinity;
      if (age > worstAge) { worst = d; worstAge = age; }
    }
    const more = devs.length > 1 ? ` +${devs.length - 1}` : '';
    let text, cls, ic;
    if (worstAge === Infinity) { text = `${worst.serial}${more} · no contact yet`; cls = 'dev-none'; ic = 'info'; }
    else if (worstAge > DEVICE_SILENT_S) { text = `${worst.serial}${more} · silent ${fmtAge(worstAge)}`; cls = 'dev-silent'; ic = 'warn'; }
    else { text = `${worst.serial}${more} · seen ${fmtAge(worstAge)} ago`; cls = 'dev-ok'; ic = 'pulse'; }
    setText(t.dev, text);
    setIcon(t.devIcon, ic);
    setPrefixedClass(t.dev.parentNode, 'dev-', cls);
  }

  function layout() {
    if (!st.ward) return;
    // Sort on what the tiles show: the ward's fields, else /toxicity's.
    const effective = (b) => {
      const x = (b.patient && st.extra.get(b.patient.id)) || {};
      return { ...b,
        decision: normDecision(b.decision).action ? b.decision : (x.decision || b.decision),
        max_grade: Number.isInteger(b.max_grade) ? b.max_grade : (Number.isInteger(x.maxGrade) ? x.maxGrade : null) };
    };
    const beds = [...st.ward.beds].sort(st.sort === 'bed' ? (a, b) => compareBedIds(a.bed, b.bed)
      : (a, b) => compareBySeverity(effective(a), effective(b)));
    const want = new Set(beds.map((b) => b.bed));
    for (const [id, t] of st.tiles) if (!want.has(id)) { t.el.remove(); st.tiles.delete(id); }
    let prev = null;
    for (const bed of beds) {
      let t = st.tiles.get(bed.bed);
      const pid = bed.patient ? bed.patient.id : null;
      if (t && t.patientId !== pid) { t.el.remove(); t = null; }
      if (!t) { t = buildTile(bed); st.tiles.set(bed.bed, t); }
      updateTile(t, bed);
      // Move only what is out of place (a moved node loses focus).
      const expectedAfter = prev ? prev.nextSibling : grid.firstChild;
      if (expectedAfter !== t.el) grid.insertBefore(t.el, expectedAfter);
      prev = t.el;
    }
    const occupied = beds.filter((b) => b.patient);
    let holds = 0, stops = 0, alerts = 0, evaluated = 0;
    for (const b of occupied) {
      const x = st.extra.get(b.patient.id) || {};
      const a = normDecision(b.decision).action || normDecision(x.decision).action;
      if (a) evaluated++;
      if (a === 'hold') holds++;
      if (a === 'discontinue' || a === 'discontinue_course') stops++;
      alerts += b.active_alerts || 0;
    }
    setText(summary, `${occupied.length} patients · ${beds.length} beds` +
      (evaluated ? ` · ${holds} hold · ${stops} discontinue` : '') + ` · ${alerts} active alert${alerts === 1 ? '' : 's'}`);
    ctx.setAlertCount(alerts);
    note.hidden = evaluated > 0 || occupied.length === 0;
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
      const ward = await get('/api/v1/ward');
      setWardZone(ward.time_zone && ward.time_zone.name);
      if (!st.alive) return;
      st.ward = ward;
      st.fetchedAt = Date.now();
      const at = Date.parse(ward.at);
      st.skewMs = Number.isFinite(at) ? at - st.fetchedAt : 0;
      error.hidden = true;
      ctx.markUpdated();
      layout();
      // Events naming patients refresh those patients' schedules at once.
      const ids = new Set();
      for (const e of why.events || []) {
        const pid = e.data && (e.data.patient_id || (e.data.patient && e.data.patient.id));
        if (pid && e.type !== 'reading') ids.add(pid);
      }
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
      if (t) updateTile(t, bed);
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
