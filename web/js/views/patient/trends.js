// Patient view: the trend charts — 6 h, 24 h or the whole cycle of vital
// signs (bucket means), urine rate and weight, with the rule set's
// thresholds as shaded bands and dose times as vertical lines.

import { get } from '../../api.js';
import { h, setText } from '../../dom.js';
import { fmtValue, fmtTime, fmtDateTime, urineRates, codeLabel } from '../../format.js';
import { CHARTS, TrendChart } from '../../charts.js';
import { doseList } from './common.js';

const RANGES = [
  { key: '6h', label: '6 h', ms: 6 * 3600e3, buckets: 72 },
  { key: '24h', label: '24 h', ms: 24 * 3600e3, buckets: 96 },
  { key: 'cycle', label: 'Whole cycle', ms: null, buckets: 160 },
];
const SERIES_CODES = ['hr', 'sbp', 'dbp', 'map', 'spo2', 'temp', 'rr'];

function savedRange() {
  try { const r = localStorage.getItem('wardd.range'); if (RANGES.some((x) => x.key === r)) return r; } catch (e) { /* private mode */ }
  return '24h';
}

// Every reading of one code in [from, to], following the cursor (10 pages
// of 1,000 at most).
async function readingsOf(id, code, from, to) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const q = new URLSearchParams({ code, from, to, limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const r = await get(`/api/v1/patients/${id}/readings?${q}`);
    out.push(...(r.readings || []));
    if (!r.next) break;
    cursor = r.next;
  }
  return out;
}

// The series response as one column of bucket means per code.
function bucketColumns(series, from, to, buckets) {
  const f = Date.parse(series.from) || from;
  const bms = series.bucket_ms || (to - from) / buckets;
  const xs = [];
  for (let i = 0; i < buckets; i++) xs.push((f + (i + 0.5) * bms) / 1000);
  const col = (code) => {
    const ys = new Array(buckets).fill(null);
    for (const b of (series.series && series.series[code]) || []) {
      const i = Math.floor((Date.parse(b.start) - f) / bms + 1e-6);
      if (i >= 0 && i < buckets) ys[i] = b.mean;
    }
    return ys;
  };
  return { xs, col };
}

function setCaption(c, n, latest, bands = []) {
  const thr = bands.map((b) => `${codeLabel(b.code)} ${b.range} (${b.rule})`).join('; ');
  setText(c.caption, n ? `${latest || ''}${thr ? ` · thresholds ${thr}` : ''}` : 'No data in this range.');
}

// Fills one chart; returns how many points it shows.
function fillChart(c, data) {
  const { range, doses, bands, rates, weight, xs, col } = data;
  const def = c.def;
  if (def.key === 'urine') {
    c.set(rates.map((r) => Date.parse(r.time) / 1000), [rates.map((r) => r.rate)], range, [], doses);
    setCaption(c, rates.length, rates.length ? `latest ${Math.round(rates[rates.length - 1].rate)} mL/h` : null);
    return rates.length;
  }
  if (def.key === 'weight') {
    c.set(weight.map((r) => Date.parse(r.time) / 1000), [weight.map((r) => r.value)], range, [], doses);
    setCaption(c, weight.length, weight.length ? `latest ${fmtValue('weight', weight[weight.length - 1].value)} kg` : null);
    return weight.length;
  }
  const ys = def.codes.map(col);
  const mine = bands.filter((b) => def.codes.includes(b.code));
  c.set(xs, ys, range, mine, doses);
  const n = ys[0].filter((v) => v !== null).length;
  const last = [...ys[0]].reverse().find((v) => v !== null);
  setCaption(c, n, last !== undefined ? `latest mean ${fmtValue(def.codes[0], last)}` : null, mine);
  return n;
}

// st: the view's state (range, bands, rulesState, doses, dosesState, tox,
// patient, alive, chartsAt).
export function createTrends(st, id) {
  st.range = savedRange();
  const charts = CHARTS.map((def) => new TrendChart(def));
  const note = h('p.chart-note');
  const grid = h('div.chart-grid', charts.map((c) => c.el));
  const rangeBtns = RANGES.map((r) => h('button.seg', {
    type: 'button', 'aria-pressed': String(r.key === st.range), dataset: { range: r.key },
    onclick: () => {
      st.range = r.key;
      try { localStorage.setItem('wardd.range', r.key); } catch (e) { /* private mode */ }
      for (const b of rangeBtns) b.setAttribute('aria-pressed', String(b.dataset.range === r.key));
      load().catch(() => {});
    },
  }, r.label));
  const el = h('section.card.trends', { 'aria-labelledby': 'trends-h' },
    h('div.card-head', h('h2#trends-h', 'Trends'),
      h('div.segmented', { role: 'group', 'aria-label': 'Time range' }, h('span.seg-label', 'Range'), rangeBtns)),
    note, grid);

  function window_() {
    const to = Date.now();
    const r = RANGES.find((x) => x.key === st.range) || RANGES[1];
    let from;
    if (r.ms) from = to - r.ms;
    else {
      const s = st.tox && st.tox.schedule;
      const start = Date.parse((s && (s.cycle_start || s.first_dose_at)) || (st.patient && st.patient.admitted_at) || '');
      from = Number.isFinite(start) ? Math.min(start, to - 6 * 3600e3) : to - 24 * 3600e3;
    }
    return { from, to, buckets: r.buckets };
  }

  function noteText(from, to) {
    const r = RANGES.find((x) => x.key === st.range);
    return `${r.label}: ${fmtDateTime(new Date(from).toISOString())} – ${fmtTime(new Date(to).toISOString())}. ` +
      (st.rulesState === 'ok' ? (st.bands.length ? 'Shaded bands: rule thresholds (amber hold, red stop). ' : '')
        : 'Rule thresholds not shown: the rule set is not available from this server yet. ') +
      (st.dosesState === 'ok' ? 'Vertical lines: doses.' : 'Dose times not shown: no dose log yet.');
  }

  async function load() {
    st.chartsAt = Date.now();
    const { from, to, buckets } = window_();
    const fromIso = new Date(from).toISOString(), toIso = new Date(to).toISOString();
    const [series, urine, weight] = await Promise.all([
      get(`/api/v1/patients/${id}/series?${new URLSearchParams({ codes: SERIES_CODES.join(','), from: fromIso, to: toIso, buckets: String(buckets) })}`),
      readingsOf(id, 'urine', new Date(from - 24 * 3600e3).toISOString(), toIso),
      readingsOf(id, 'weight', fromIso, toIso),
    ]);
    if (!st.alive) return;
    const data = {
      ...bucketColumns(series, from, to, buckets),
      range: [from / 1000, to / 1000],
      doses: doseList(st.doses).map((d) => ({ t: Date.parse(d.time) / 1000, held: d.status !== 'given',
        label: d.status === 'given' ? `dose${d.dose_in_cycle ? ' ' + d.dose_in_cycle : ''}` : 'held' })),
      bands: st.bands,
      rates: urineRates(urine).filter((r) => Date.parse(r.time) >= from),
      weight,
    };
    let points = 0;
    for (const c of charts) points += fillChart(c, data);
    setText(note, noteText(from, to));
    const view = el.closest('.patient-view');
    if (view) view.dataset.chartsReady = String(points > 0);
  }

  const resize = () => { for (const c of charts) c.resize(); };
  const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => resize()) : null;
  if (ro) ro.observe(grid); else window.addEventListener('resize', resize);

  function destroy() {
    if (ro) ro.disconnect(); else window.removeEventListener('resize', resize);
    for (const c of charts) c.destroy();
  }

  return { el, load, destroy };
}
