// alarm: the alarm sounds, after the auditory alarm signals of IEC
// 60601-1-8:2006+A1:2012 (Table 3, the burst; Table 4, the pulse; design
// and figures in docs/dashboard.md "Alarms"). The pattern table is pure
// data and the schedule pure functions (tests/e2e/unit.test.mjs checks
// them against the standard's ranges); AlarmPlayer turns a pattern into
// Web Audio nodes: one OscillatorNode and one GainNode envelope per pulse,
// no audio files.

// Per priority: the fundamental (Hz; the standard asks 150-1000 Hz with at
// least four harmonics, hence a sawtooth), the pulse duration td, the
// pulse onsets within a burst (ms from the burst's start) and the pause
// after the burst before it repeats (ms; null: once per alert).
// High: 10 pulses in two halves of 3 + 2 (x-x-x--x-x, pause, x-x-x--x-x);
// medium: 3 pulses; low: 2 pulses. Higher priority: higher pitch, faster
// pulses, shorter repeat.
export const PATTERNS = Object.freeze({
  high: Object.freeze({
    frequency: 880, wave: 'sawtooth', pulseMs: 150,
    onsets: Object.freeze([0, 250, 500, 1000, 1250, 2200, 2450, 2700, 3200, 3450]),
    pauseMs: 4000,
  }),
  medium: Object.freeze({
    frequency: 660, wave: 'sawtooth', pulseMs: 200,
    onsets: Object.freeze([0, 350, 700]),
    pauseMs: 8000,
  }),
  low: Object.freeze({
    frequency: 440, wave: 'sawtooth', pulseMs: 200,
    onsets: Object.freeze([0, 350]),
    pauseMs: 20000,
  }),
});

export const PRIORITIES = ['high', 'medium', 'low'];
// Rise and fall of each pulse: 15 % of td (the standard: 10-20 %).
export const EDGE_FRACTION = 0.15;
export const PAUSE_MS = 2 * 60 * 1000;

// The burst's length (first onset to the end of the last pulse), ms.
export function burstMs(p) {
  return p.onsets[p.onsets.length - 1] + p.pulseMs;
}

// The repeat period: burst plus pause, ms.
export function periodMs(p) {
  return burstMs(p) + p.pauseMs;
}

// Pulse spacing: silence between the end of one pulse and the next onset.
export function spacings(p) {
  const out = [];
  for (let i = 1; i < p.onsets.length; i++) out.push(p.onsets[i] - p.onsets[i - 1] - p.pulseMs);
  return out;
}

// The highest priority among alerts that should sound: active (raised or
// escalated, not acknowledged, not resolved). null when none.
export function soundingPriority(alerts) {
  let best = null;
  for (const a of alerts || []) {
    if (!a || a.state !== 'active') continue;
    const i = PRIORITIES.indexOf(a.priority);
    if (i >= 0 && (best === null || i < PRIORITIES.indexOf(best))) best = a.priority;
  }
  return best;
}

// Plays one priority's burst again and again on an AudioContext. The
// context is made by the page (browsers allow sound only after a user
// gesture: unlock() must run inside a click handler).
export class AlarmPlayer {
  constructor(makeContext = () => new (window.AudioContext || window.webkitAudioContext)()) {
    this.makeContext = makeContext;
    this.ctx = null;
    this.priority = null;
    this.timer = null;
    this.nodes = [];
    this.onchange = null; // called when the context starts or stops running
  }

  // Whether sound can play now (a running context).
  get canSound() { return !!this.ctx && this.ctx.state === 'running'; }

  // Makes or resumes the context; call from a user gesture. Resolves to canSound.
  async unlock() {
    try {
      if (!this.ctx) this.probe();
      if (this.ctx.state !== 'running') await this.ctx.resume();
    } catch (e) { /* no audio device: canSound stays false */ }
    if (this.priority && this.canSound && !this.timer) this.loop();
    return this.canSound;
  }

  // A context that may already run (a browser that allows autoplay; its
  // state turns "running" a moment after creation).
  probe() {
    try {
      if (!this.ctx) {
        this.ctx = this.makeContext();
        this.ctx.onstatechange = () => this.stateChanged();
      }
    } catch (e) { this.ctx = null; }
    return this.canSound;
  }

  stateChanged() {
    if (this.canSound && this.priority && !this.timer) this.loop();
    if (this.onchange) this.onchange(this.canSound);
  }

  // Sounds `priority` (or stops with null); the same priority keeps its rhythm.
  play(priority) {
    if (priority === this.priority) return;
    this.stop();
    this.priority = PATTERNS[priority] ? priority : null;
    if (this.priority && this.canSound) this.loop();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.priority = null;
    for (const n of this.nodes) { try { n.stop(); } catch (e) { /* already ended */ } }
    this.nodes = [];
  }

  loop() {
    const p = PATTERNS[this.priority];
    if (!p || !this.canSound) { this.timer = null; return; }
    this.burst(p);
    this.timer = setTimeout(() => this.loop(), periodMs(p));
  }

  burst(p) {
    const c = this.ctx;
    const t0 = c.currentTime + 0.05;
    const td = p.pulseMs / 1000;
    const edge = td * EDGE_FRACTION;
    this.nodes = [];
    for (const onset of p.onsets) {
      const start = t0 + onset / 1000;
      const osc = c.createOscillator();
      const gain = c.createGain();
      osc.type = p.wave;
      osc.frequency.value = p.frequency;
      osc.frequency.setValueAtTime(p.frequency, start);
      gain.gain.setValueAtTime(0, start);
      gain.gain.linearRampToValueAtTime(0.3, start + edge);
      gain.gain.setValueAtTime(0.3, start + td - edge);
      gain.gain.linearRampToValueAtTime(0, start + td);
      osc.connect(gain).connect(c.destination);
      osc.start(start);
      osc.stop(start + td + 0.01);
      this.nodes.push(osc);
    }
  }
}
