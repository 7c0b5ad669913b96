// Patient view: the header (name, bed, MRN, schedule) and the strip of
// latest values under it.

import { h, clear, setText, setPrefixedClass } from '../../dom.js';
import { scheduleText, staleness, fmtAge, fmtValue, unitWord, fmtTime, fmtDateTime, yearsBetween } from '../../format.js';
import { human } from './common.js';

const STRIP = [
  { key: 'hr', label: 'HR', codes: ['hr'] },
  { key: 'bp', label: 'BP', codes: ['sbp', 'dbp'] },
  { key: 'map', label: 'MAP', codes: ['map'] },
  { key: 'spo2', label: 'SpO₂', codes: ['spo2'] },
  { key: 'temp', label: 'Temp', codes: ['temp'] },
  { key: 'rr', label: 'RR', codes: ['rr'] },
  { key: 'o2', label: 'O₂', codes: ['o2_flow'] },
  { key: 'urine', label: 'Urine', codes: ['urine'] },
  { key: 'weight', label: 'Weight', codes: ['weight'] },
  { key: 'consciousness', label: 'ACVPU', codes: ['consciousness'] },
];
// Vitals go stale after 15 min; weight and labs are judged on a day.
const DAILY = new Set(['weight', 'urine']);

// st: the view's state (patient, bed, tox, fetchedAt).
export function createHeader(st) {
  const title = h('h1#pt-title', { tabindex: '-1' }, 'Patient');
  const meta = h('p.pt-meta');
  const sched = h('p.pt-sched');
  const strip = h('div.strip', { 'aria-label': 'Latest values' });
  const cells = {};
  for (const s of STRIP) {
    const c = { val: h('span.val'), unit: h('span.unit'), age: h('span.age') };
    c.el = h('div.scell', { dataset: { code: s.key } }, h('span.vlabel', s.label), h('span.vline', c.val, c.unit), c.age);
    cells[s.key] = c;
    strip.append(c.el);
  }

  function renderSchedule() {
    const s = st.tox && st.tox.schedule;
    const text = scheduleText(s);
    clear(sched);
    if (!text) {
      sched.append(h('span.sched-main.muted', 'Schedule not evaluated'));
      return;
    }
    sched.append(h('span.sched-main', text));
    if (s.next_dose_at) {
      const due = Date.parse(s.next_dose_at) <= Date.now();
      sched.append(h('span.sched-next', due ? `dose due (slot ${fmtTime(s.next_dose_at)})` : `next dose ${fmtTime(s.next_dose_at)}`));
    }
  }

  function renderHead() {
    const p = st.patient;
    if (!p) return;
    setText(title, p.name);
    const age = yearsBetween(p.birth_date);
    const bits = [p.bed ? `Bed ${p.bed.replace(/^B/, '')}` : 'No bed', p.mrn,
      [age !== null ? `${age} y` : null, p.sex].filter(Boolean).join(' '),
      p.diagnosis ? (p.diagnosis === 'rcc' ? 'RCC' : human(p.diagnosis)) : null,
      p.status === 'discharged' ? `discharged ${fmtDateTime(p.discharged_at)}` : `admitted ${fmtDateTime(p.admitted_at)}`];
    setText(meta, bits.filter(Boolean).join(' · '));
    renderSchedule();
  }

  function ageOf(v) {
    if (!v || typeof v.age_s !== 'number') return null;
    return v.age_s + (Date.now() - st.fetchedAt) / 1000;
  }

  function renderCell(s, latest) {
    const c = cells[s.key];
    const items = s.codes.map((code) => latest[code]);
    const ages = items.map(ageOf).filter((a) => a !== null);
    const age = ages.length ? Math.max(...ages) : null;
    let state = staleness(age);
    if (DAILY.has(s.key) && state !== 'none') state = age > 86400 ? 'old' : 'fresh';
    if (s.key === 'consciousness' && state !== 'none') state = age > 86400 ? 'old' : state;
    let val = '—', unit = '';
    if (state !== 'none' && state !== 'old') {
      if (s.key === 'bp') { val = `${fmtValue('sbp', items[0] && items[0].value)}/${fmtValue('dbp', items[1] && items[1].value)}`; unit = 'mmHg'; }
      else { val = fmtValue(s.codes[0], items[0].value); unit = unitWord(items[0].unit); }
    }
    setText(c.val, val);
    setText(c.unit, unit);
    setText(c.age, state === 'none' ? 'no data' : state === 'old' ? 'no recent data' : state === 'stale' ? `stale · ${fmtAge(age)}` : fmtAge(age));
    setPrefixedClass(c.el, 'is-', `is-${state}`);
  }

  function renderStrip() {
    const latest = (st.bed && st.bed.latest) || {};
    for (const s of STRIP) renderCell(s, latest);
    strip.hidden = !st.bed;
  }

  return { title, meta, sched, strip, renderHead, renderStrip };
}
