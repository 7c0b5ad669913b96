// charts: trend charts drawn with uPlot (web/vendor/, pinned by
// web/package-lock.json). One chart per measure; all share the same time
// window so they line up. Rule thresholds are drawn as shaded bands with a
// dashed edge, dose times as vertical lines.

import { h } from './dom.js';

// Fixed, clinically familiar y ranges (widened when data falls outside) so
// charts keep their scale between refreshes and thresholds stay in view.
export const CHARTS = [
  { key: 'hr', title: 'Heart rate', unit: '/min', codes: ['hr'], range: [40, 160] },
  { key: 'bp', title: 'Blood pressure', unit: 'mmHg', codes: ['sbp', 'dbp', 'map'], range: [40, 180] },
  { key: 'spo2', title: 'SpO₂', unit: '%', codes: ['spo2'], range: [80, 100] },
  { key: 'temp', title: 'Temperature', unit: '°C', codes: ['temp'], range: [35, 41] },
  { key: 'rr', title: 'Respiratory rate', unit: '/min', codes: ['rr'], range: [5, 40] },
  { key: 'urine', title: 'Urine output', unit: 'mL/h', codes: ['urine'], range: [0, 200], bars: true },
  { key: 'weight', title: 'Weight', unit: 'kg', codes: ['weight'], range: null, points: true },
];

// Series colours (AA against white as lines) and dash patterns, so that
// sbp / dbp / map differ by more than hue.
const STYLE = {
  hr: { stroke: '#1d4f91', label: 'HR' },
  sbp: { stroke: '#1d4f91', label: 'Systolic' },
  dbp: { stroke: '#6b3fa0', label: 'Diastolic', dash: [8, 4] },
  map: { stroke: '#2f6f4f', label: 'MAP', dash: [2, 4] },
  spo2: { stroke: '#1d4f91', label: 'SpO₂' },
  temp: { stroke: '#1d4f91', label: 'Temp' },
  rr: { stroke: '#1d4f91', label: 'RR' },
  urine: { stroke: '#1d4f91', label: 'Urine mL/h' },
  weight: { stroke: '#1d4f91', label: 'Weight' },
};

const BAND = {
  discontinue: { fill: 'rgba(185, 28, 28, 0.13)', line: '#b91c1c' },
  absolute: { fill: 'rgba(185, 28, 28, 0.13)', line: '#b91c1c' },
  hold: { fill: 'rgba(217, 119, 6, 0.14)', line: '#b45309' },
  other: { fill: 'rgba(100, 116, 139, 0.12)', line: '#475569' },
};
function bandStyle(b) {
  if (b.action === 'discontinue' || b.action === 'discontinue_course' || b.klass === 'absolute') return BAND.absolute;
  if (b.action === 'hold' || b.klass === 'relative' || b.klass === 'label') return BAND.hold;
  return BAND.other;
}

// The uPlot plugin that draws bands (under the data) and dose markers.
function overlayPlugin(getBands, getDoses) {
  return {
    hooks: {
      drawClear: [(u) => {
        const bands = getBands();
        if (!bands.length) return;
        const { ctx } = u;
        const { left, top, width, height } = u.bbox;
        ctx.save();
        ctx.beginPath();
        ctx.rect(left, top, width, height);
        ctx.clip();
        for (const b of bands) {
          const st = bandStyle(b);
          const yTop = b.hi === null ? top : u.valToPos(b.hi, 'y', true);
          const yBot = b.lo === null ? top + height : u.valToPos(b.lo, 'y', true);
          ctx.fillStyle = st.fill;
          ctx.fillRect(left, Math.min(yTop, yBot), width, Math.abs(yBot - yTop));
          ctx.strokeStyle = st.line;
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          for (const v of [b.lo, b.hi]) {
            if (v === null) continue;
            const y = Math.round(u.valToPos(v, 'y', true)) + 0.5;
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
          }
        }
        ctx.restore();
      }],
      draw: [(u) => {
        const doses = getDoses();
        if (!doses.length) return;
        const { ctx } = u;
        const { left, top, width, height } = u.bbox;
        ctx.save();
        ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.textBaseline = 'top';
        for (const d of doses) {
          const x = Math.round(u.valToPos(d.t, 'x', true)) + 0.5;
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = d.held ? '#92400e' : '#0f5132';
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash(d.held ? [3 * devicePixelRatio, 3 * devicePixelRatio] : []);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.fillText(d.label, x + 3 * devicePixelRatio, top + 2 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
}

const pad2 = (n) => String(n).padStart(2, '0');

export class TrendChart {
  constructor(def) {
    this.def = def;
    this.bands = [];
    this.doses = [];
    this.plot = null;
    this.caption = h('figcaption.chart-cap');
    this.legend = h('p.chart-legend');
    this.box = h('div.chart-box', { role: 'img', 'aria-label': `${def.title} trend` });
    this.el = h('figure.chart', { dataset: { chart: def.key } },
      h('div.chart-head', h('h3', `${def.title} `, h('span.unit', def.unit)), this.legend),
      this.box, this.caption);
    this.width = 0;
  }

  // xs: epoch seconds; ys: one array per code (null for gaps).
  set(xs, ys, range, bands, doses) {
    this.bands = bands;
    this.doses = doses;
    this.range = range;
    const U = globalThis.uPlot;
    if (!U) { this.caption.textContent = 'Chart library not loaded.'; return; }
    const data = [xs, ...ys];
    let [lo, hi] = this.def.range || [Infinity, -Infinity];
    for (const y of ys) for (const v of y) if (v !== null && v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
    if (!this.def.range) { const pad = Math.max(1, (hi - lo) * 0.15); lo -= pad; hi += pad; }
    const yRange = [Math.floor(lo), Math.ceil(hi)];
    const width = Math.max(240, Math.floor(this.box.clientWidth || 600));
    const height = this.box.clientHeight > 60 ? this.box.clientHeight : 170;
    if (this.plot && this.plot.series.length === data.length && this.width === width) {
      this.yRange = yRange;
      this.plot.setData(data);
    } else {
      if (this.plot) this.plot.destroy();
      this.yRange = yRange;
      this.width = width;
      const series = [{}].concat(this.def.codes.map((c) => {
        const st = STYLE[c] || STYLE.hr;
        const s = { label: st.label, stroke: st.stroke, width: 2, spanGaps: false,
                    value: (u, v) => (v === null || v === undefined ? '—' : (Math.round(v * 10) / 10).toString()) };
        if (st.dash) s.dash = st.dash;
        if (this.def.bars) {
          s.paths = U.paths && U.paths.bars ? U.paths.bars({ size: [0.8, 24] }) : undefined;
          s.fill = 'rgba(29, 79, 145, 0.35)';
          s.points = { show: false };
        } else if (this.def.points) {
          s.points = { show: true, size: 7, fill: st.stroke };
        } else {
          s.points = { show: false };
        }
        return s;
      }));
      const axisStyle = { stroke: '#3a4450', grid: { stroke: '#e3e7ec', width: 1 }, ticks: { stroke: '#c9d0d8', width: 1 },
                          font: '13px system-ui, sans-serif' };
      const opts = {
        width, height,
        cursor: { drag: { x: false, y: false }, points: { size: 7 } },
        legend: { show: false },
        scales: {
          x: { time: true, range: () => [this.range[0], this.range[1]] },
          y: { range: () => this.yRange },
        },
        axes: [
          { ...axisStyle, values: (u, ticks) => ticks.map((t) => { const d = new Date(t * 1000); return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`; }) },
          { ...axisStyle, size: 48 },
        ],
        series,
        plugins: [overlayPlugin(() => this.bands, () => this.doses)],
      };
      this.box.textContent = '';
      this.plot = new U(opts, data, this.box);
    }
  }

  resize() {
    if (!this.plot) return;
    const w = Math.max(240, Math.floor(this.box.clientWidth || 600));
    if (w !== this.width) {
      this.width = w;
      this.plot.setSize({ width: w, height: this.plot.height });
    }
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}
