// format: pure helpers that turn API values into the words and classes the
// dashboard shows. No DOM, no fetch: tests/e2e/unit.test.mjs imports this
// file directly under Node.

import { wardParts } from './wardtime.js';

// Vitals older than STALE_S are dimmed with the word "stale"; older than
// NO_RECENT_S the value is withdrawn and "no recent data" shown instead
// (the engine's freshness window for vitals is 4 h, docs/clinical-policy.md item 5).
export const STALE_S = 15 * 60;
export const NO_RECENT_S = 4 * 60 * 60;
// A device that has not been heard from for this long is marked silent.
export const DEVICE_SILENT_S = 5 * 60;

// CTCAE v5.0 grade words. Colour is never the only cue: every badge shows
// the number and this label.
const GRADE_WORDS = ['none', 'mild', 'moderate', 'severe', 'life-threatening', 'death'];

// Short forms for the board's fixed-width grade chip.
const GRADE_SHORT = ['none', 'mild', 'moderate', 'severe', 'life-thr.', 'death'];

export function gradeInfo(g) {
  if (g === null || g === undefined || !Number.isInteger(g) || g < 0 || g > 5) {
    return { num: '–', word: 'not evaluated', short: '', cls: 'grade-na', grade: null };
  }
  return { num: String(g), word: GRADE_WORDS[g], short: GRADE_SHORT[g], cls: `grade-${g}`, grade: g };
}

// Dose decision actions (docs/api.md "Toxicity grading and the dose decision").
// sev orders them for the severity sort: the most severe action first.
const DECISIONS = {
  discontinue: { text: 'DISCONTINUE', icon: 'stop', cls: 'dec-discontinue', sev: 4 },
  discontinue_course: { text: 'DISCONTINUE', icon: 'stop', cls: 'dec-discontinue', sev: 4 },
  hold: { text: 'HOLD', icon: 'pause', cls: 'dec-hold', sev: 3 },
  insufficient_data: { text: 'NO DATA', icon: 'question', cls: 'dec-nodata', sev: 2 },
  give: { text: 'GIVE', icon: 'check', cls: 'dec-give', sev: 1 },
};
const NOT_EVALUATED = { text: 'NOT EVALUATED', icon: 'dash', cls: 'dec-na', sev: 0 };

export function decisionInfo(action) {
  return (action && DECISIONS[action]) || NOT_EVALUATED;
}

// The decision as the server sends it: in GET /ward a bed's
// {"action", "reason"} (reason: the top reason's text, absent for "give"),
// in GET /patients/{id}/toxicity {"action", "reasons": [...], "missing",
// "not_evaluated"} (the first reason is the top one), in a "decision" event
// {"action", "reasons"}; a bare action string is accepted too. All come out
// as {action, reasons, top}. The top reason is chosen as the server chooses
// the ward's "reason": the first reason asking for the decision's own
// action, else the first reason.
export function normDecision(d) {
  if (d === null || d === undefined) return { action: null, reasons: [], top: null };
  if (typeof d === 'string') return { action: d, reasons: [], top: null };
  const reasons = Array.isArray(d.reasons) ? d.reasons : [];
  let top = null;
  const first = reasons.find((r) => r && r.action === d.action) || reasons[0];
  if (typeof d.reason === 'string') top = d.reason;
  else if (first && typeof first.text === 'string') top = first.text;
  if (!top && d.action === 'insufficient_data' && Array.isArray(d.missing) && d.missing.length) {
    top = `No recent ${d.missing.map(codeLabel).join(', ')}`;
  }
  return { action: typeof d.action === 'string' ? d.action : null, reasons, top };
}

// "C1 D3 · dose 7/14" from the toxicity response's schedule object.
export function scheduleText(s) {
  if (!s || typeof s !== 'object') return null;
  const c = s.cycle, d = s.day;
  // a later course that may not start (views/courses.js shows why)
  if (s.status === 'not_scheduled') return `Course ${s.course || 1}: not scheduled`;
  if (s.status === 'course_complete') return 'Course complete';
  if (!c) return 'Before first dose';
  const cyc = s.course > 1 ? `C${c} of course ${s.course}` : `C${c}`;
  const head = d ? `${cyc} D${d}` : cyc;
  if (s.status === 'cycle_complete') return `${head} · cycle complete`;
  if (s.status === 'rest') return `${head} · rest`;
  if (s.dose_in_cycle) {
    return `${head} · dose ${s.dose_in_cycle}/${s.max_doses_per_cycle || '?'}`;
  }
  return head;
}

export function staleness(ageS) {
  if (ageS === null || ageS === undefined || !Number.isFinite(ageS)) return 'none';
  if (ageS > NO_RECENT_S) return 'old';
  if (ageS > STALE_S) return 'stale';
  return 'fresh';
}

// A compact age: "8 s", "12 min", "3 h 05", "2 d".
export function fmtAge(ageS) {
  if (ageS === null || ageS === undefined || !Number.isFinite(ageS)) return '';
  const s = Math.max(0, Math.floor(ageS));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return `${h} h ${String(m).padStart(2, '0')}`;
  }
  return `${Math.floor(s / 86400)} d`;
}

export function ageWords(ageS) {
  const a = fmtAge(ageS);
  return a ? `${a} ago` : '';
}

// Decimal places shown per code; anything else keeps up to 2.
const DECIMALS = {
  hr: 0, rr: 0, spo2: 0, sbp: 0, dbp: 0, map: 0, temp: 1, weight: 1, urine: 0,
  o2_flow: 1, fio2: 0, creatinine: 2, bilirubin: 1, platelets: 0, potassium: 1,
  bicarbonate: 0, ph: 2, lactate: 1, phenylephrine: 2,
};

export function fmtValue(code, v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v !== 'number') return String(v);
  if (code === 'o2_flow') return String(Number(v.toFixed(1)));
  const d = code in DECIMALS ? DECIMALS[code] : 2;
  const r = v.toFixed(d);
  return d === 2 && !(code in DECIMALS) ? String(Number(r)) : r;
}

// UCUM units as people read them.
const UNIT_WORDS = {
  '/min': '/min', '%': '%', Cel: '°C', '[degF]': '°F', 'mm[Hg]': 'mmHg', kg: 'kg',
  '[lb_av]': 'lb', mL: 'mL', 'L/min': 'L/min', 'ug/kg/min': 'µg/kg/min', 'ug/min': 'µg/min',
  '{beats}': 'beats', '{stools}': 'stools', 'mg/dL': 'mg/dL', 'umol/L': 'µmol/L', 'U/L': 'U/L',
  '10*3/uL': '×10³/µL', 'mmol/L': 'mmol/L', '[pH]': '',
};
export function unitWord(u) {
  if (u === null || u === undefined) return '';
  return u in UNIT_WORDS ? UNIT_WORDS[u] : u;
}

// Labels of the observation codes come from the server's catalogue
// (js/catalogue.js calls setCodeLabels once it has it); until then, and for
// a code it does not list, the code itself is shown.
let codeLabels = new Map();
export function setCodeLabels(codes) {
  codeLabels = new Map([...codes.values()].map((c) => [c.code, c.label]));
}
export function codeLabel(code) {
  if (!code) return '';
  if (codeLabels.has(code)) return codeLabels.get(code);
  if (code.startsWith('ctcae.')) return `CTCAE ${code.slice(6).replace(/_/g, ' ')}`;
  return code.replace(/_/g, ' ');
}

const PRIORITY = { high: 3, medium: 2, low: 1 };
export function priorityRank(p) {
  return PRIORITY[p] || 0;
}

// Active alerts by priority (high first), then age (oldest first).
export function compareAlerts(a, b) {
  const d = priorityRank(b.priority) - priorityRank(a.priority);
  if (d) return d;
  const ta = Date.parse(a.raised_at) || 0, tb = Date.parse(b.raised_at) || 0;
  return ta - tb;
}

// Bed ids sort naturally: B2 before B10.
export function compareBedIds(a, b) {
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

// Severity sort for the board: occupied beds first, then the most severe
// decision, the highest grade, the most active alerts; ties by bed.
export function compareBySeverity(a, b) {
  const occ = (b.patient ? 1 : 0) - (a.patient ? 1 : 0);
  if (occ) return occ;
  const da = decisionInfo(normDecision(a.decision).action).sev;
  const db = decisionInfo(normDecision(b.decision).action).sev;
  if (db !== da) return db - da;
  const ga = Number.isInteger(a.max_grade) ? a.max_grade : -1;
  const gb = Number.isInteger(b.max_grade) ? b.max_grade : -1;
  if (gb !== ga) return gb - ga;
  const aa = a.active_alerts || 0, ab = b.active_alerts || 0;
  if (ab !== aa) return ab - aa;
  return compareBedIds(a.bed, b.bed);
}

const pad2 = (n) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// Ward wall-clock time (wardtime.js), 24 h: "14:03"; with the date when not today.
export function fmtTime(iso, now = new Date()) {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '—';
  const p = wardParts(t), n = wardParts(now);
  const hm = `${pad2(p.hour)}:${pad2(p.minute)}`;
  if (p.year === n.year && p.month === n.month && p.day === n.day) return hm;
  return `${p.day} ${MONTHS[p.month - 1]} ${hm}`;
}

export function fmtDateTime(iso) {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '—';
  const p = wardParts(t);
  return `${p.day} ${MONTHS[p.month - 1]} ${p.year} ${pad2(p.hour)}:${pad2(p.minute)}`;
}

// Value for <input type="datetime-local"> (local time, minutes).
export function toLocalInput(d = new Date()) {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

// <input type="datetime-local"> value -> RFC 3339 UTC, or null.
export function fromLocalInput(v) {
  if (!v) return null;
  const t = new Date(v);
  return Number.isNaN(t.getTime()) ? null : t.toISOString();
}

export function yearsBetween(birthIso, now = new Date()) {
  if (!birthIso) return null;
  const b = new Date(birthIso);
  if (Number.isNaN(b.getTime())) return null;
  let y = now.getFullYear() - b.getFullYear();
  const m = now.getMonth() - b.getMonth();
  if (m < 0 || (m === 0 && now.getDate() < b.getDate())) y--;
  return y;
}

// Per-reading urine rate (mL/h): each urine reading is the volume since the
// previous one (docs/api.md observation codes; docs/clinical-policy.md item 6), so its rate
// is volume / hours since the previous reading. The first reading has no
// interval and no rate.
export function urineRates(readings) {
  const out = [];
  for (let i = 1; i < readings.length; i++) {
    const t0 = Date.parse(readings[i - 1].time), t1 = Date.parse(readings[i].time);
    const h = (t1 - t0) / 3600000;
    if (h > 0 && typeof readings[i].value === 'number') {
      out.push({ time: readings[i].time, rate: readings[i].value / h });
    }
  }
  return out;
}

// Threshold bands from a rule set: every comparison of a reading's latest
// value with constant bounds, e.g. {"latest": "hr", "ge": 100, "le": 130},
// becomes {code, lo, hi, rule, action, klass}. Walks the document without
// assuming more of its shape than the rule language (docs/rules.md):
// comparisons under "rules" (decision rules), each inheriting the id,
// action and class of the rule it sits in.
export function ruleBands(doc) {
  const out = [];
  if (!doc || typeof doc !== 'object') return out;
  const root = Array.isArray(doc.rules) ? doc.rules
    : doc.ruleset && Array.isArray(doc.ruleset.rules) ? doc.ruleset.rules : null;
  if (!root) return out;
  const seen = new Set();
  const walk = (node, ctx, inResume) => {
    if (Array.isArray(node)) { node.forEach((n) => walk(n, ctx, inResume)); return; }
    if (!node || typeof node !== 'object') return;
    let here = ctx;
    if (typeof node.id === 'string' && (node.action || node.when)) {
      here = { rule: node.id, action: node.action || null, klass: node.class || null,
               text: node.text || node.id };
    }
    if (typeof node.latest === 'string' && here && !inResume) {
      const num = (k) => (typeof node[k] === 'number' ? node[k] : null);
      const lo = num('gt') ?? num('ge'), hi = num('lt') ?? num('le');
      if (lo !== null || hi !== null) {
        const key = `${node.latest}|${lo}|${hi}|${here.action}`;
        if (!seen.has(key)) {
          seen.add(key);
          const parts = [];
          if (lo !== null) parts.push(`${num('gt') !== null ? '>' : '≥'} ${lo}`);
          if (hi !== null) parts.push(`${num('lt') !== null ? '<' : '≤'} ${hi}`);
          out.push({ code: node.latest, lo, hi, rule: here.rule, action: here.action,
                     klass: here.klass, text: here.text, range: parts.join(' and ') });
        }
      }
    }
    for (const [k, v] of Object.entries(node)) {
      if (v && typeof v === 'object') walk(v, here, inResume || k === 'resume');
    }
  };
  walk(root, null, false);
  return out;
}
