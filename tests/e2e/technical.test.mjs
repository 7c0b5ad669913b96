// Browser tests of the technical-alerts strip and the alerts page's
// technical section (web/js/techui.js, docs/dashboard.md "Technical
// alerts"), against a wardd of their own (lib.mjs startWardd) so that the
// strip never shows on the other tests' pages: started with
// --disk-warn-bytes at 1 PiB, every disk is low and wardd raises a real
// disk_low alert; an HL7 message through its MLLP port whose MRN is not
// the bed's patient raises a real identity_mismatch. Checked: the words,
// the strip on every page and across navigation, live appearance and
// disappearance, resolve with a note (nurse), read-only for a viewer and a
// station, never styled, announced or sounded as a patient alarm, the
// three widths with axe, and no console errors.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SHOTS, launch, startWardd, session, apiJson, absentEngineEndpoints, newPage, signIn, app, sleep } from './lib.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PIB = String(2 ** 50);

let browser, srv, admin, nurse, viewer, absent;
const api = (token, method, path, body) => apiJson(token, method, path, body, srv.base);

// Records every oscillator a page starts: a technical alert must start none.
function countOscillators() {
  window.__osc = 0;
  const AC = window.AudioContext;
  const create = AC.prototype.createOscillator;
  AC.prototype.createOscillator = function createOscillator() { window.__osc++; return create.call(this); };
}

async function page(role, hash, viewport) {
  const p = await newPage(browser, absent, { viewport });
  await p.context.addInitScript(countOscillators);
  if (role) await signIn(p.page, role, hash, srv.base);
  return p;
}

// One HL7 v2 ORU^R01 from feed GW for bed B1 (IL2U^101^1), whose PID-3 names
// an MRN nobody here has: B1 holds another patient, so wardd holds the
// reading unassigned and raises identity_mismatch (docs/hl7.md). Resolves
// to the ACK's MSA code.
function sendMismatch(control) {
  const ts = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';
  const msg = [
    `MSH|^~\\&|GW-IL2U|NLH|WARDD|IL2U|${ts}||ORU^R01^ORU_R01|${control}|P|2.6|||NE|AL`,
    'PID|||E2E-NOBODY^^^NLH^MR||Nobody^Test',
    'PV1||I|IL2U^101^1^NLH',
    `OBR|1|${control}|${control}|182777000^monitoring of patient^SNOMED-CT|||${ts}`,
    `OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.0.1|77|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||${ts}`,
  ].join('\r') + '\r';
  return new Promise((res, rej) => {
    const s = net.connect(srv.mllpPort(), '127.0.0.1', () => s.write(`\x0b${msg}\x1c\r`));
    let buf = '';
    s.setTimeout(5000, () => { s.destroy(); rej(new Error('no ACK within 5 s')); });
    s.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.includes('\x1c')) { s.end(); const m = /MSA\|([A-Z]{2})/.exec(buf); res(m ? m[1] : buf); }
    });
    s.on('error', rej);
  });
}

async function techAlerts() {
  const r = await api(viewer, 'GET', '/api/v1/technical-alerts');
  assert.equal(r.status, 200);
  return r.data.alerts;
}

const row = (kind, extra = '') => `#tech-strip:not([hidden]) .tech-row[data-kind="${kind}"]${extra}`;

// A cool colour (slate, grey: blue at least red), never the warm red, amber
// or yellow of clinical alerts (app.css .prio-*, .dec-*, .grade-*). null
// when cool, else the colour.
async function warmColour(p, sel, prop) {
  const c = await p.$eval(sel, (el, pr) => getComputedStyle(el)[pr], prop);
  const [r, , b] = c.match(/\d+/g).map(Number);
  return b >= r ? null : c;
}

async function axeCheck(p, where) {
  await p.evaluate(AXE);
  const r = await p.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    rules: { 'label-content-name-mismatch': { enabled: true } },
  }));
  const v = r.violations.map((x) => `${x.id}: ${x.nodes.length} node(s), e.g. ${x.nodes[0].target.join(' ')}`);
  assert.deepEqual(v, [], `axe on ${where}`);
}

describe('technical alerts: the system strip and the alerts page', () => {
  before(async () => {
    browser = await launch();
    srv = await startWardd(['--disk-warn-bytes', PIB, '--mllp', '127.0.0.1:0']);
    admin = await session('admin', srv.base);
    nurse = await session('nurse', srv.base);
    viewer = await session('viewer', srv.base);
    absent = await absentEngineEndpoints(admin, srv.base);
    // The demo's patient alerts are acknowledged: nothing else may sound.
    for (const a of (await api(nurse, 'GET', '/api/v1/alerts?state=active')).data.alerts) {
      assert.equal((await api(nurse, 'POST', `/api/v1/alerts/${a.id}/ack`, { note: 'e2e: technical test' })).status, 200);
    }
    assert.equal((await api(admin, 'POST', '/api/v1/feeds', { name: 'GW', kind: 'device_gateway',
      sending_application: 'GW-IL2U', sending_facility: 'NLH', addresses: ['127.0.0.1'] })).status, 201);
    assert.equal((await api(admin, 'PATCH', '/api/v1/beds/B1', { location: 'IL2U^101^1' })).status, 200);
    const disk = (await techAlerts()).filter((a) => a.kind === 'disk_low' && a.state === 'active');
    assert.equal(disk.length, 1, 'wardd raised one disk_low alert at start');
  });
  after(async () => {
    if (browser) await browser.close();
    if (srv) {
      const r = await srv.stop();
      assert.equal(r.code, 0, `own wardd exit after SIGTERM:\n${srv.log().slice(-2000)}`);
    }
  });

  it('disk_low: plain words on every page for a viewer and a station, read-only, not a patient alarm, no sound', async () => {
    const { context, page: p, watch } = await page('viewer', '#/board');
    try {
      const line = p.locator(row('disk_low'));
      await line.waitFor();
      const text = await line.locator('.tech-text').textContent();
      assert.match(text, /^Disk nearly full: \d+(\.\d)? [KMGT]iB free of \d+(\.\d)? [KMGTP]iB \(warning below 1 PiB\)\. Readings are still stored; ask IT to free space/);
      assert.match(await line.locator('.tech-time').textContent(), /^since \d\d:\d\d · \d+ (s|min) ago$/);
      assert.equal(await p.locator('#tech-strip .btn-tech, #tech-strip form').count(), 0, 'a viewer has no resolve control');
      assert.match(await p.textContent('#tech-strip-label'), /System.*not a patient alarm/);
      // Not a patient alarm: outside the alarm bar, no role=alert, no
      // priority badge, slate colours, a polite status announcer, not
      // counted in the Alerts badge, and no sound.
      assert.equal(await p.locator('#alarm-bar #tech-strip, [role="alert"] #tech-strip, #tech-strip [role="alert"], #tech-strip .prio').count(), 0);
      assert.equal(await p.getAttribute('#tech-strip', 'role'), null);
      assert.equal(await p.getAttribute('#tech-announce', 'role'), 'status');
      assert.equal(await p.getAttribute('#tech-announce', 'aria-live'), 'polite');
      for (const [sel, prop] of [['#tech-strip', 'backgroundColor'], ['#tech-strip', 'borderLeftColor'], ['#tech-strip-label', 'backgroundColor']]) {
        assert.equal(await warmColour(p, sel, prop), null, `${sel} ${prop} is slate, not a clinical colour`);
      }
      assert.ok(await p.locator('.nav-count').isHidden(), 'the Alerts badge does not count technical alerts');
      await sleep(1000);
      assert.equal(await p.evaluate(() => window.__osc), 0, 'no oscillator started');
      assert.doesNotMatch(await p.textContent('#sound-state'), /Sounding/);
      // Every page: the same strip, never rebuilt by navigation.
      await p.evaluate(() => { document.getElementById('tech-strip').dataset.e2eMark = 'kept'; });
      await p.click('.mainnav a[data-nav="alerts"]');
      await p.waitForSelector('.tech-section .tech-row[data-kind="disk_low"][data-state="active"]');
      assert.equal(await p.locator('.alerts-view .alert-row', { hasText: 'Disk' }).count(), 0, 'not in the patients\' alert list');
      assert.equal(await p.locator('.tech-section .btn-tech').count(), 0);
      assert.match(await p.textContent('.tech-section'), /Resolving one needs a nurse/);
      for (const hash of ['#/patient/1', '#/handover', '#/admin/patients', '#/board']) {
        await p.evaluate((h) => { location.hash = h; }, hash);
        await p.waitForSelector('main h1');
        assert.ok(await p.locator(row('disk_low')).isVisible(), `strip on ${hash}`);
        assert.equal(await p.getAttribute('#tech-strip', 'data-e2e-mark'), 'kept', `the same strip on ${hash}`);
      }
      // A viewer's resolve is refused by the server too.
      const id = (await techAlerts()).find((a) => a.kind === 'disk_low' && a.state === 'active').id;
      assert.equal((await api(viewer, 'POST', `/api/v1/technical-alerts/${id}/resolve`, { note: 'x' })).status, 403);
      watch.check(assert, 'viewer pages with the strip');
    } finally { await context.close(); }

    // A wall-display station: the strip, read-only.
    const st = await api(admin, 'POST', '/api/v1/stations', { name: 'Wall tech', location: 'corridor' });
    assert.equal(st.status, 201);
    const k = await page(null, null, { width: 1920, height: 1080 });
    try {
      await k.page.goto(app(`#/kiosk?token=${encodeURIComponent(st.data.token)}`, srv.base));
      await k.page.waitForSelector('.tile');
      await k.page.waitForSelector(row('disk_low'));
      assert.equal(await k.page.locator('#tech-strip .btn-tech').count(), 0, 'a station has no resolve control');
      if (SHOTS) await k.page.screenshot({ path: join(SHOTS, 'tech-kiosk-1920.png') });
      k.watch.check(assert, 'kiosk with the strip');
    } finally { await k.context.close(); }
  });

  it('at 390, 768 and 1920 px: no sideways scrolling, keyboard reachable with visible focus, axe clean; screenshots', async () => {
    assert.equal(await sendMismatch('E2E-LAYOUT'), 'AE');
    for (const viewport of [{ width: 390, height: 844 }, { width: 768, height: 1024 }, { width: 1920, height: 1080 }]) {
      const { context, page: p, watch } = await page('nurse', '#/board', viewport);
      try {
        await p.waitForSelector(row('identity_mismatch'));
        await p.waitForSelector(row('disk_low'));
        // Tab from the top of the page reaches the first line's button.
        let reached = false;
        for (let i = 0; i < 40 && !reached; i++) {
          await p.keyboard.press('Tab');
          reached = await p.evaluate(() => document.activeElement && document.activeElement.matches('#tech-strip .btn-tech'));
        }
        assert.ok(reached, `Tab reaches "Mark resolved" at ${viewport.width}`);
        const outline = await p.evaluate(() => { const s = getComputedStyle(document.activeElement); return `${s.outlineStyle} ${s.outlineWidth}`; });
        assert.match(outline, /^solid [1-9]/, `visible focus at ${viewport.width}`);
        await p.keyboard.press('Enter');
        await p.waitForSelector('#tech-strip .tech-form:not([hidden]) input:focus');
        const m = await p.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
        assert.ok(m.sw <= m.iw, `board at ${viewport.width}: ${m.sw} px wide in ${m.iw}`);
        await axeCheck(p, `board with the strip at ${viewport.width}`);
        if (SHOTS) await p.screenshot({ path: join(SHOTS, `tech-strip-${viewport.width}.png`) });
        await p.evaluate(() => { location.hash = '#/alerts'; });
        await p.waitForSelector('.tech-section .tech-row');
        const m2 = await p.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
        assert.ok(m2.sw <= m2.iw, `alerts at ${viewport.width}: ${m2.sw} px wide in ${m2.iw}`);
        await axeCheck(p, `alerts with technical alerts at ${viewport.width}`);
        if (SHOTS) await p.screenshot({ path: join(SHOTS, `tech-alerts-${viewport.width}.png`), fullPage: true });
        watch.check(assert, `strip at ${viewport.width}`);
      } finally { await context.close(); }
    }
  });

  it('a new identity mismatch appears live; a nurse resolves with a note and the line goes on every screen', async () => {
    const n = await page('nurse', '#/board');
    const v = await page('viewer', '#/alerts');
    try {
      await n.page.waitForSelector(row('disk_low'));
      await v.page.waitForSelector(row('disk_low'));
      for (const x of [n, v]) await x.page.evaluate(() => { window.__sameLoad = true; });
      // Raised while the pages are open: shown within seconds, no reload.
      assert.equal(await sendMismatch('E2E-LIVE'), 'AE');
      const mm = (await techAlerts()).find((a) => a.control_id === 'E2E-LIVE');
      assert.ok(mm && mm.state === 'active');
      for (const x of [n, v]) {
        const line = x.page.locator(row('identity_mismatch', `[data-tech="${mm.id}"]`));
        await line.waitFor({ timeout: 5000 });
        assert.equal(await line.locator('.tech-text').textContent(),
          'Patient identity mismatch: monitor feed GW sent readings for MRN E2E-NOBODY from bed B1, where another patient is admitted. ' +
          'The reading is on no patient\'s chart. Check the patient\'s wristband and which bed the monitor is set to (message E2E-LIVE).');
        assert.ok(await x.page.evaluate(() => window.__sameLoad === true), 'no reload');
      }
      await v.page.waitForFunction(() => /System problem, not a patient: Patient identity mismatch/.test(document.getElementById('tech-announce').textContent));
      assert.equal(await v.page.locator('.tech-section .btn-tech').count(), 0, 'the viewer cannot resolve on the alerts page');

      // The nurse resolves disk_low: a note is required.
      const disk = (await techAlerts()).find((a) => a.kind === 'disk_low' && a.state === 'active');
      const line = n.page.locator(row('disk_low'));
      await line.locator('.btn-tech').click();
      await line.locator('.tech-form button[type=submit]').click();
      await line.locator('.form-status.is-error', { hasText: 'Write a note' }).waitFor();
      assert.equal(await line.locator('input[name=note]').getAttribute('aria-invalid'), 'true');
      assert.equal((await techAlerts()).find((a) => a.id === disk.id).state, 'active', 'nothing sent without a note');
      await line.locator('input[name=note]').fill('E2E: IT freed 40 GiB');
      await line.locator('input[name=note]').press('Enter');
      await n.page.waitForSelector(row('disk_low'), { state: 'detached', timeout: 3000 });
      assert.equal((await techAlerts()).find((a) => a.id === disk.id).state, 'resolved');
      const audit = (await api(admin, 'GET', '/api/v1/audit')).data.entries
        .find((e) => e.action === 'technical_alert.resolve' && e.entity_id === String(disk.id));
      assert.ok(audit && audit.user === 'nurse' && audit.after.note === 'E2E: IT freed 40 GiB', JSON.stringify(audit));
      // The viewer's screen, live on the event stream, drops it too (the
      // resolution is published: well before the 15 s read) and the alerts
      // page lists it as resolved; the mismatch stays.
      await v.page.waitForSelector(row('disk_low'), { state: 'detached', timeout: 5000 });
      await v.page.waitForSelector(`.tech-section .tech-row[data-tech="${disk.id}"][data-state="resolved"]`);
      assert.ok(await v.page.locator(row('identity_mismatch', `[data-tech="${mm.id}"]`)).isVisible());
      assert.ok(await v.page.evaluate(() => window.__sameLoad === true), 'no reload');

      // From the alerts page's section: the nurse resolves the rest; the strip goes.
      await n.page.click('.mainnav a[data-nav="alerts"]');
      for (const a of (await techAlerts()).filter((x) => x.state === 'active')) {
        const r = n.page.locator(`.tech-section .tech-row[data-tech="${a.id}"][data-state="active"]`);
        await r.locator('.btn-tech').click();
        await r.locator('input[name=note]').fill('E2E: wristband checked, monitor moved to the right bed');
        await r.locator('.tech-form button[type=submit]').click();
        await n.page.waitForSelector(`.tech-section .tech-row[data-tech="${a.id}"][data-state="resolved"]`);
      }
      await n.page.waitForSelector('#tech-strip', { state: 'hidden' });
      assert.equal(await n.page.evaluate(() => document.body.dataset.tech), '0');
      assert.equal(await n.page.evaluate(() => window.__osc), 0, 'nothing sounded');
      n.watch.check(assert, 'nurse resolving');
      v.watch.check(assert, 'viewer watching');
    } finally { await n.context.close(); await v.context.close(); }
  });
});
