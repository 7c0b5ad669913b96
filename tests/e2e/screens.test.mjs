// Browser tests of issue 16, "every screen on the ward" (docs/dashboard.md):
// alarm sound at a station (the Web Audio graph observed through an
// instrumented AudioContext) that stops on acknowledgement; the no-sound
// banner; the pause shown on every screen; the system notification of a
// hidden tab; kiosk stations (token kept across reloads, refused after
// revocation); phone, tablet and wall widths without sideways scrolling;
// axe-core's WCAG 2.1 A/AA rules on every page at every width; the
// handover printed to PDF by Chromium and read back with pdftotext.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, SHOTS, app, session, apiJson, absentEngineEndpoints, ConsoleWatch, signIn, sleep } from './lib.mjs';
import { PATTERNS } from '../../web/js/alarm.js';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WIDTHS = [{ width: 390, height: 844 }, { width: 768, height: 1024 }, { width: 1920, height: 1080 }];

let browser, admin, nurse, absent;

// Headless chromium lets every AudioContext run, whatever its autoplay
// policy flag says; a ward's browsers do not. The instrumented page below
// therefore gives the page the desktop policy: a context stays suspended
// until resume() is called during a user activation (a real click).
async function launchStrict() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// Gives AudioContext the autoplay policy (above) and records every oscillator the page starts (frequency, wave, start time in
// the context's clock and the wall clock) and every stop; a hidden tab
// whose Notification permission is granted records notifications.
function instrument({ hidden = false } = {}) {
  window.__osc = [];
  window.__stops = 0;
  window.__notes = [];
  const AC = window.AudioContext;
  const create = AC.prototype.createOscillator;
  AC.prototype.createOscillator = function createOscillator() {
    const o = create.call(this);
    const start = o.start.bind(o), stop = o.stop.bind(o);
    o.start = (when) => { window.__osc.push({ f: o.frequency.value, wave: o.type, when, wall: Date.now() }); return start(when); };
    o.stop = (when) => { window.__stops++; return stop(when); };
    return o;
  };
  class Gated extends AC {
    constructor(...a) { super(...a); this.gated = true; }
    get state() { return this.gated ? 'suspended' : super.state; }
    resume() {
      if (!navigator.userActivation.isActive) return Promise.reject(new DOMException('no user gesture', 'NotAllowedError'));
      this.gated = false;
      return super.resume();
    }
  }
  window.AudioContext = Gated;
  if (hidden) {
    Object.defineProperty(document, 'hidden', { get: () => true });
    window.Notification = class {
      constructor(title, opts) { window.__notes.push({ title, body: opts && opts.body }); }
      static requestPermission() { return Promise.resolve('granted'); }
    };
    window.Notification.permission = 'granted';
  }
}

async function context(b, viewport, opts = {}) {
  const ctx = await b.newContext({ viewport });
  await ctx.addInitScript(instrument, { hidden: !!opts.hidden });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  // GET /api/v1/catalogue is another branch's endpoint: the dashboard
  // works without it (catalogue.js), its 404 is expected here.
  const watch = new ConsoleWatch(page, absent, [/status of 404 .*\/api\/v1\/catalogue/, ...(opts.allow || [])]);
  return { ctx, page, watch };
}

async function axeCheck(page, where) {
  await page.evaluate(AXE);
  const r = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    rules: { 'label-content-name-mismatch': { enabled: true } },
  }));
  const v = r.violations.map((x) => `${x.id}: ${x.nodes.length} node(s), e.g. ${x.nodes[0].target.join(' ')}`);
  assert.deepEqual(v, [], `axe on ${where}`);
}

async function noSidewaysScroll(page, where) {
  const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  assert.ok(m.sw <= m.iw, `${where}: the page is ${m.sw} px wide in a ${m.iw} px window`);
}

async function enrol(name) {
  const r = await apiJson(admin, 'POST', '/api/v1/stations', { name, location: 'nurses\' station' });
  assert.equal(r.status, 201);
  return r.data;
}

async function ackAllActive() {
  const r = await apiJson(nurse, 'GET', '/api/v1/alerts?state=active');
  for (const a of r.data.alerts) await apiJson(nurse, 'POST', `/api/v1/alerts/${a.id}/ack`, { note: 'e2e: screens test' });
}

async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(150);
  }
}

// A new patient in a new bed (the demo ward's patients may be on hold
// already, whose alert would not be raised again).
async function newPatient() {
  const bed = `S${process.pid % 100000}`;
  assert.equal((await apiJson(admin, 'POST', '/api/v1/beds', { id: bed, label: `Bed ${bed}` })).status, 201);
  const r = await apiJson(nurse, 'POST', '/api/v1/patients', { mrn: `E2E-${bed}`, name: 'Alarm Testpatient', bed,
    admitted_at: new Date(Date.now() - 3600e3).toISOString() });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  return r.data;
}

// A full set of vital signs entered by the nurse (NEWS2 inputs included).
async function vitals(p, spo2) {
  const t = new Date().toISOString();
  const readings = [['hr', 80], ['sbp', 124], ['dbp', 76], ['spo2', spo2], ['rr', 16], ['temp', 37.0], ['o2_flow', 0],
    ['consciousness', 'A']].map(([code, value]) => ({ code, value, time: t }));
  const r = await apiJson(nurse, 'POST', `/api/v1/patients/${p.id}/observations`, { readings });
  assert.equal(r.status, 201, JSON.stringify(r.data));
}

describe('every screen on the ward (issue 16)', () => {
  before(async () => {
    browser = await launchStrict();
    admin = await session('admin');
    nurse = await session('nurse');
    absent = await absentEngineEndpoints(admin);
  });
  after(async () => { if (browser) await browser.close(); });

  it('a station without sound shows the banner; enabled, a high alert sounds the high pattern and stops on acknowledgement; a hidden tab notifies', async () => {
    const st = await enrol(`Wall sound ${process.pid}`);
    const { ctx, page, watch } = await context(browser, { width: 1920, height: 1080 }, { hidden: true });
    try {
      await ackAllActive();
      await page.goto(app(`#/kiosk?token=${encodeURIComponent(st.token)}`));
      await page.waitForSelector('.tile');
      // The no-sound banner, and the server knows this station cannot sound.
      await page.waitForSelector('#sound-banner:not([hidden])');
      assert.match(await page.textContent('#sound-banner'), /Alarm sound is off on this screen/);
      await until(async () => {
        const s = (await apiJson(admin, 'GET', '/api/v1/stations')).data.stations.find((x) => x.id === st.id);
        return s && s.online && s.can_sound === false;
      }, 5000, 'the station listed online without sound');
      // Enabled by a click: banner gone, the server counts it as sounding.
      await page.click('#sound-enable');
      await page.waitForSelector('#sound-banner', { state: 'hidden' });
      await until(async () => {
        const s = (await apiJson(admin, 'GET', '/api/v1/stations')).data.stations.find((x) => x.id === st.id);
        return s && s.can_sound === true;
      }, 5000, 'the station listed as able to sound');
      const metrics = await (await fetch(`${BASE}/metrics`)).text();
      assert.match(metrics, /wardd_screens\{sound="on"\} [1-9]/);
      await page.evaluate(() => { window.__osc = []; });
      // SpO2 88 %: the decision becomes hold, a high-priority alert is raised.
      const p = await newPatient();
      await vitals(p, 88);
      const burst = await until(async () => {
        const osc = await page.evaluate(() => window.__osc.filter((o) => o.f === 880));
        return osc.length >= 10 ? osc : null;
      }, 10000, 'the high-priority burst');
      const t0 = burst[0].when;
      assert.deepEqual(burst.slice(0, 10).map((o) => Math.round((o.when - t0) * 1000)), [...PATTERNS.high.onsets]);
      assert.ok(burst.every((o) => o.wave === 'sawtooth'));
      assert.match(await page.textContent('#sound-state'), /Sounding: high/);
      const notes = await page.evaluate(() => window.__notes);
      assert.ok(notes.some((n) => /high-priority/.test(n.title) && new RegExp(p.bed).test(n.body)), `a notification: ${JSON.stringify(notes)}`);
      // Acknowledged (from another screen): the station stops at once.
      const stopsBefore = await page.evaluate(() => window.__stops);
      await ackAllActive();
      const ackedAt = Date.now();
      await until(async () => (await page.evaluate(() => window.__stops)) > stopsBefore, 5000, 'the oscillators stopped');
      await page.waitForFunction(() => !/Sounding/.test(document.querySelector('#sound-state').textContent));
      await sleep(1500);
      const later = await page.evaluate((t) => window.__osc.filter((o) => o.wall > t + 300), ackedAt);
      assert.deepEqual(later, [], 'no pulse started after the acknowledgement');
      await apiJson(nurse, 'POST', `/api/v1/patients/${p.id}/discharge`);
      watch.check(assert, 'kiosk sound');
    } finally { await ctx.close(); }
  });

  it('a pause at one station is audited and shown on every screen while it lasts', async () => {
    const st = await enrol(`Wall pause ${process.pid}`);
    const k = await context(browser, { width: 1920, height: 1080 });
    const n = await context(browser, { width: 1280, height: 900 });
    try {
      await k.page.goto(app(`#/kiosk?token=${encodeURIComponent(st.token)}`));
      await k.page.waitForSelector('.tile');
      await k.page.click('#sound-enable');
      await signIn(n.page, 'nurse');
      await n.page.waitForSelector('#sound-summary');
      await k.page.click('#sound-pause');
      await k.page.waitForSelector('#sound-paused:not([hidden])');
      assert.match(await k.page.textContent('#sound-paused'), /paused on this screen until/);
      await n.page.waitForSelector('#sound-others:not([hidden])');
      assert.match(await n.page.textContent('#sound-others'), new RegExp(`Sound paused at station:Wall pause ${process.pid}`));
      const audit = (await apiJson(admin, 'GET', '/api/v1/audit')).data.entries;
      assert.ok(audit.some((e) => e.action === 'screen.pause' && e.user === `station:Wall pause ${process.pid}`));
      // The board tells the charge nurse which screens cannot sound.
      await n.page.waitForFunction(() => /cannot/.test(document.querySelector('#sound-summary').textContent), null, { timeout: 35000 });
      k.watch.check(assert, 'kiosk pause');
      n.watch.check(assert, 'nurse board during a pause');
    } finally { await k.ctx.close(); await n.ctx.close(); }
  });

  it('a kiosk keeps its token across reloads without a session, shows the board only, and is refused after revocation', async () => {
    const st = await enrol(`Wall kiosk ${process.pid}`);
    const { ctx, page, watch } = await context(browser, { width: 1920, height: 1080 },
      { allow: [/status of 401/] });
    try {
      await page.goto(app(`#/kiosk?token=${encodeURIComponent(st.token)}`));
      await page.waitForSelector('.tile');
      assert.ok(!page.url().includes(st.token), 'the token leaves the address bar');
      assert.equal(await page.evaluate(() => localStorage.getItem('wardd.stationToken')), st.token);
      assert.equal((await ctx.cookies()).length, 0, 'no session cookie');
      assert.equal(await page.locator('a.tile').count(), 0, 'kiosk tiles lead nowhere');
      assert.equal(await page.locator('.mainnav a').count(), 0, 'no navigation');
      assert.ok(await page.evaluate(() => document.body.classList.contains('kiosk')));
      await page.goto(app('#/admin/users'));
      await page.waitForFunction(() => location.hash === '#/kiosk');
      await page.reload();
      await page.waitForSelector('.tile');
      assert.match(await page.textContent('.who'), /station/);
      await apiJson(admin, 'DELETE', `/api/v1/stations/${st.id}`);
      await page.reload();
      await page.waitForSelector('#kiosk-title');
      assert.match(await page.textContent('#kiosk-title'), /not enrolled/);
      assert.equal(await page.locator('.tile').count(), 0);
      assert.equal(await page.evaluate(() => localStorage.getItem('wardd.stationToken')), null);
      watch.check(assert, 'kiosk revoked');
    } finally { await ctx.close(); }
  });

  it('every page at 390, 768 and 1920 px: no sideways scrolling, no axe WCAG 2.1 A/AA violation', async () => {
    const st = await enrol(`Wall axe ${process.pid}`);
    const pid = (await apiJson(admin, 'GET', '/api/v1/patients')).data.patients[0].id;
    for (const vp of WIDTHS) {
      const { ctx, page, watch } = await context(browser, vp);
      try {
        await signIn(page, 'admin');
        for (const [hash, sel] of [['#/board', '.tile'], [`#/patient/${pid}`, '.decision-banner'], ['#/alerts', '.alerts-view'],
          ['#/admin/stations', 'tr[data-station]'], ['#/handover?hours=12', '.handover-patient']]) {
          await page.goto(app(hash));
          await page.waitForSelector(sel);
          await sleep(300);
          await noSidewaysScroll(page, `${hash} at ${vp.width}`);
          await axeCheck(page, `${hash} at ${vp.width}`);
          if (hash === '#/board' && SHOTS) await page.screenshot({ path: join(SHOTS, `board-${vp.width}.png`) });
        }
        watch.check(assert, `pages at ${vp.width}`);
      } finally { await ctx.close(); }
      const k = await context(browser, vp);
      try {
        await k.page.goto(app(`#/kiosk?token=${encodeURIComponent(st.token)}`));
        await k.page.waitForSelector('.tile');
        await noSidewaysScroll(k.page, `kiosk at ${vp.width}`);
        await axeCheck(k.page, `kiosk at ${vp.width}`);
        if (SHOTS) await k.page.screenshot({ path: join(SHOTS, `kiosk-${vp.width}.png`) });
        k.watch.check(assert, `kiosk at ${vp.width}`);
      } finally { await k.ctx.close(); }
    }
  });

  it('axe finds the bed-card naming fault this work fixed (the check is live)', async () => {
    const { ctx, page } = await context(browser, { width: 1280, height: 900 });
    try {
      await signIn(page, 'viewer');
      await page.waitForSelector('a.tile');
      await page.evaluate(() => { const t = document.querySelector('a.tile'); t.setAttribute('aria-label', `${t.querySelector('.bed-label').textContent}, open patient view`); });
      await page.evaluate(AXE);
      const r = await page.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        rules: { 'label-content-name-mismatch': { enabled: true } },
      }));
      assert.ok(r.violations.some((v) => v.id === 'label-content-name-mismatch'), 'the old aria-label is reported');
    } finally { await ctx.close(); }
  });

  it('the handover prints to PDF with each patient on a page, its decision and its doses', async () => {
    const pts = (await apiJson(admin, 'GET', '/api/v1/patients')).data.patients;
    const expect = [];
    for (const p of pts) {
      const reason = `E2E handover ${p.mrn}`;
      const r = await apiJson(nurse, 'POST', `/api/v1/patients/${p.id}/doses`,
        { time: new Date(Date.now() - 60e3 - expect.length * 1000).toISOString(), status: 'held', reason });
      assert.equal(r.status, 201, JSON.stringify(r.data));
      const t = await apiJson(admin, 'GET', `/api/v1/patients/${p.id}/toxicity`);
      expect.push({ name: p.name, reason, action: t.data.decision.action });
    }
    const { ctx, page, watch } = await context(browser, { width: 1280, height: 900 });
    const dir = mkdtempSync(join(tmpdir(), 'wardd-handover-'));
    try {
      await signIn(page, 'nurse', '#/handover?hours=8');
      await page.waitForSelector('.handover-patient');
      await page.emulateMedia({ media: 'print' });
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      writeFileSync(join(dir, 'handover.pdf'), pdf);
      const text = execFileSync('pdftotext', ['-layout', join(dir, 'handover.pdf'), '-'], { encoding: 'utf8' });
      const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [join(dir, 'handover.pdf')], { encoding: 'utf8' }))[1]);
      assert.ok(pages >= pts.length, `one patient a page: ${pages} pages for ${pts.length} patients`);
      const words = { give: 'GIVE', hold: 'HOLD', discontinue: 'DISCONTINUE', insufficient_data: 'NO DATA' };
      const perPage = text.split('\f');
      for (const e of expect) {
        const pg = perPage.find((x) => x.includes(e.name));
        assert.ok(pg, `${e.name} is in the PDF`);
        assert.match(pg, new RegExp(`Decision now: +${words[e.action]}`), `${e.name}'s decision on its page`);
        assert.ok(pg.includes(e.reason) && /Held/.test(pg), `${e.name}'s held dose on its page`);
      }
      assert.ok(!/Enable sound|Sign out/.test(text), 'the screen furniture is not printed');
      watch.check(assert, 'handover');
    } finally { await ctx.close(); rmSync(dir, { recursive: true, force: true }); }
  });
});
