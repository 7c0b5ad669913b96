// Browser tests of the ward dashboard (issue #4), run by tests/e2e/run.sh
// against a real wardd seeded with `wardd demo`, in Debian's chromium.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import {
  BASE, SHOTS, app, devices, launch, session, apiJson, absentEngineEndpoints, newPage, login, signIn, sleep,
} from './lib.mjs';
import * as fx from './fixtures.mjs';

let browser, admin, absent;
const pendingEngine = (key) => absent.some((e) => e.key === key);

// Node 18's fetch has no keep-alive surprises here; every call is small.
async function postReading(bed, readings) {
  const dev = devices().find((d) => d.bed === bed);
  const r = await fetch(`${BASE}/api/v1/readings`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${dev.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ readings }),
  });
  return { status: r.status, body: await r.json() };
}

let seq = 0;
const msgId = () => `E2E-${process.pid}-${++seq}`;

describe('dashboard', () => {
  before(async () => {
    browser = await launch();
    admin = await session('admin');
    absent = await absentEngineEndpoints(admin);
    if (absent.length) {
      console.log([
        '',
        '#####################################################################',
        '# Engine endpoints NOT on this server yet (the dashboard shows them',
        '# as "not evaluated"; their 404/501 console lines are tolerated):',
        ...absent.map((e) => `#   ${e.path} -> ${e.status}`),
        '#####################################################################',
      ].join('\n'));
    }
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    if (browser) await browser.close();
  });

  it('login: wrong password is refused in words, the right one opens the board for the role', async () => {
    const { context, page, watch } = await newPage(browser, absent, {
      // The refused login itself is a 401 the browser reports; nothing else may be.
      allow: [/status of 401 .*\/api\/v1\/session/],
    });
    try {
      await page.goto(app('#/board'));
      await page.waitForSelector('#login-user');
      assert.match(page.url(), /#\/login/);
      await page.fill('#login-user', 'nurse');
      await page.fill('#login-pass', 'not-the-password');
      await page.click('.login-form button[type=submit]');
      await page.waitForSelector('.login-form .form-status.is-error');
      assert.match(await page.textContent('.login-form .form-status'), /Wrong username or password/);
      await page.fill('#login-pass', 'wardd-nurse-demo');
      await page.click('.login-form button[type=submit]');
      await page.waitForSelector('.tile');
      assert.match(page.url(), /#\/board/);
      assert.equal((await page.textContent('.who')).trim(), 'nurse · nurse');
      assert.equal(await page.textContent('.mainnav a[data-nav="admin"]'), 'Patients');
      // A reload keeps the session (HttpOnly cookie), and sign-out ends it.
      await page.reload();
      await page.waitForSelector('.tile');
      // A board refresh in flight when the session ends is answered 401, as
      // it must be; only from here on is a 401 on the API expected.
      watch.allow(/status of 401 .*\/api\/v1\//);
      await page.click('.btn-logout');
      await page.waitForSelector('#login-user');
      assert.match(await page.textContent('.login-form .form-status'), /Signed out/);
      watch.check(assert, 'login');
    } finally { await context.close(); }
  });

  it('bed board shows every bed and the seeded patients with their vitals', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      const { data } = await apiJson(admin, 'GET', '/api/v1/patients');
      const names = data.patients.map((p) => p.name).sort();
      assert.ok(names.length >= 6, 'the demo seeds six patients');
      const beds = (await apiJson(admin, 'GET', '/api/v1/beds')).data.beds;
      await signIn(page, 'viewer');
      await page.waitForSelector('.tile .pt-name');
      assert.equal(await page.locator('.tile').count(), beds.length);
      const shown = (await page.locator('a.tile .pt-name').allTextContents()).sort();
      assert.deepEqual(shown, names);
      for (const p of data.patients) {
        const tile = page.locator(`a.tile[data-patient="${p.id}"]`);
        assert.equal(await tile.getAttribute('href'), `#/patient/${p.id}`, 'tiles are links');
        assert.match(await tile.locator('.vital[data-code="hr"] .val').textContent(), /^\d+$/);
        assert.match(await tile.locator('.vital[data-code="bp"] .val').textContent(), /^\d+\/\d+$/);
        assert.match(await tile.locator('.vital[data-code="temp"] .val').textContent(), /^\d+\.\d$/);
        assert.match(await tile.locator('.vital[data-code="hr"] .age').textContent(), /\d+ (s|min)|stale|no recent data/);
        assert.equal(await tile.locator('.decision').count(), 1);
        assert.match(await tile.locator('.decision').textContent(), /GIVE|HOLD|DISCONTINUE|NO DATA|NOT EVALUATED/);
        assert.match(await tile.locator('.dev').textContent(), /MON-/);
      }
      // Empty beds say so (and a viewer cannot admit).
      const empty = page.locator('.tile-empty');
      assert.equal(await empty.count(), beds.length - names.length);
      assert.equal(await page.locator('a.tile-empty').count(), 0);
      // Sort by bed puts B1 first; the choice is kept.
      await page.click('button[data-sort="bed"]');
      assert.equal(await page.locator('.tile').first().getAttribute('data-bed'), 'B1');
      assert.equal(await page.getAttribute('button[data-sort="bed"]', 'aria-pressed'), 'true');
      await page.click('button[data-sort="severity"]');
      watch.check(assert, 'board');
    } finally { await context.close(); }
  });

  it('a reading posted by a device appears on the board without reload within 2 s', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      await signIn(page, 'nurse');
      const hr = page.locator('a.tile[data-bed="B1"] .vital[data-code="hr"] .val');
      await hr.waitFor();
      await page.evaluate(() => { window.__noReload = true; });
      const before = await hr.textContent();
      const value = before === '137' ? 138 : 137;
      const res = await postReading('B1', [{ id: msgId(), code: 'hr', value, unit: '/min', time: new Date().toISOString() }]);
      const t201 = Date.now();
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await page.waitForFunction((v) => (document.querySelector('a.tile[data-bed="B1"] .vital[data-code="hr"] .val') || {}).textContent === String(v),
        value, { timeout: 2000, polling: 50 });
      const took = Date.now() - t201;
      assert.ok(took <= 2000, `appeared after ${took} ms`);
      assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
      assert.match(await page.textContent('a.tile[data-bed="B1"] .vital[data-code="hr"] .age'), /^\d+ s$/);
      console.log(`# reading visible ${took} ms after its 201 (connection: ${await page.getAttribute('#conn', 'data-state')})`);
      watch.check(assert, 'board (live reading)');
    } finally { await context.close(); }
  });

  it('values update in place: no layout shift when readings arrive', async () => {
    const { context, page, watch } = await newPage(browser, absent, { viewport: { width: 1920, height: 1080 } });
    try {
      await page.addInitScript(() => {
        window.__cls = 0;
        window.__shifts = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            window.__cls += e.value;
            for (const src of e.sources || []) {
              const n = src.node && (src.node.nodeType === 1 ? src.node : src.node.parentElement);
              const r = (x) => `${Math.round(x.x)},${Math.round(x.y)} ${Math.round(x.width)}x${Math.round(x.height)}`;
              window.__shifts.push(`${n ? `${n.tagName}.${n.className}${n.closest('[data-bed]') ? ' in ' + n.closest('[data-bed]').dataset.bed : ''}` : '?'}: ${r(src.previousRect)} -> ${r(src.currentRect)}`);
            }
          }
        })
          .observe({ type: 'layout-shift', buffered: true });
      });
      await signIn(page, 'nurse');
      await page.waitForSelector('a.tile[data-bed="B2"]');
      await page.click('button[data-sort="bed"]');
      await sleep(300);
      const boxes = () => page.$$eval('.tile', (ts) => ts.map((t) => { const r = t.getBoundingClientRect(); return [t.dataset.bed, r.x, r.y, r.width, r.height].join(','); }));
      const before = await boxes();
      await page.evaluate(() => { window.__cls = 0; window.__shifts = []; });
      const now = new Date().toISOString();
      await postReading('B2', [
        { id: msgId(), code: 'hr', value: 109, time: now }, { id: msgId(), code: 'sbp', value: 104, time: now },
        { id: msgId(), code: 'dbp', value: 62, time: now }, { id: msgId(), code: 'temp', value: 100.4, unit: '[degF]', time: now },
        { id: msgId(), code: 'rr', value: 18, time: now }, { id: msgId(), code: 'spo2', value: 97, time: now }]);
      await page.waitForFunction(() => (document.querySelector('a.tile[data-bed="B2"] .vital[data-code="bp"] .val') || {}).textContent === '104/62', null, { timeout: 3000 });
      assert.equal(await page.textContent('a.tile[data-bed="B2"] .vital[data-code="temp"] .val'), '38.0', '°F converted');
      assert.deepEqual(await boxes(), before, 'tiles kept their place and size');
      assert.equal(await page.evaluate(() => window.__cls), 0, `layout shifts: ${await page.evaluate(() => window.__shifts.join('; '))}`);
      watch.check(assert, 'board (update in place)');
    } finally { await context.close(); }
  });

  it('admit from the patients page; stale and old vitals are marked on the board', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      await signIn(page, 'nurse', '#/board');
      await page.click('a.tile-empty[data-bed="B7"]');
      await page.waitForSelector('#admit-bed option[value="B7"]', { state: 'attached' });
      assert.equal(await page.inputValue('#admit-bed'), 'B7', 'the empty tile preselects its bed');
      await page.fill('#admit-name', 'Ines Haugen');
      await page.fill('#admit-mrn', 'MRN-E2E-7');
      await page.selectOption('#admit-dx', 'melanoma');
      await page.fill('#admit-weight_kg', '64.5');
      await page.fill('#admit-creatinine_mg_dl', '0.8');
      await page.click('.admit-form button[type=submit]');
      await page.waitForSelector('.admit-form .form-status.is-ok');
      const p = (await apiJson(admin, 'GET', '/api/v1/patients')).data.patients.find((x) => x.mrn === 'MRN-E2E-7');
      assert.ok(p, 'admitted');
      assert.equal(p.bed, 'B7');
      assert.equal(p.baseline.weight_kg, 64.5);
      // 20 min old hr: stale; 5 h old spo2: no recent data; fresh rr.
      const nurse = await session('nurse');
      const ago = (m) => new Date(Date.now() - m * 60e3).toISOString();
      const r = await apiJson(nurse, 'POST', `/api/v1/patients/${p.id}/observations`, { readings: [
        { code: 'spo2', value: 97, time: ago(300) }, { code: 'hr', value: 91, time: ago(20) },
        { code: 'rr', value: 17, time: ago(1) }] });
      assert.equal(r.status, 201, JSON.stringify(r.data));
      await page.click('.mainnav a[data-nav="board"]');
      const tile = page.locator('a.tile[data-bed="B7"]');
      await tile.locator('.pt-name', { hasText: 'Ines Haugen' }).waitFor();
      await page.waitForFunction(() => (document.querySelector('a.tile[data-bed="B7"] .vital[data-code="hr"] .val') || {}).textContent === '91');
      assert.match(await tile.locator('.vital[data-code="hr"]').getAttribute('class'), /is-stale/);
      assert.match(await tile.locator('.vital[data-code="hr"] .age').textContent(), /^stale · 2\d min$/);
      assert.match(await tile.locator('.vital[data-code="spo2"]').getAttribute('class'), /is-old/);
      assert.equal(await tile.locator('.vital[data-code="spo2"] .val').textContent(), '—');
      assert.equal(await tile.locator('.vital[data-code="spo2"] .age').textContent(), 'no recent data');
      assert.match(await tile.locator('.vital[data-code="rr"]').getAttribute('class'), /is-fresh/);
      assert.equal(await tile.locator('.vital[data-code="temp"] .age').textContent(), 'no data');
      watch.check(assert, 'admit + staleness');
    } finally { await context.close(); }
  });

  it('patient view draws its charts', async () => {
    const { context, page, watch } = await newPage(browser, absent, { viewport: { width: 1920, height: 1080 } });
    try {
      await signIn(page, 'viewer');
      await page.click('a.tile[data-patient="1"]');
      await page.waitForSelector('.patient-view[data-charts-ready="true"]');
      assert.match(await page.textContent('#pt-title'), /\S/);
      const charts = await page.$$eval('.chart', (cs) => cs.map((c) => ({
        key: c.dataset.chart, canvas: !!c.querySelector('canvas'),
        w: c.querySelector('canvas') ? c.querySelector('canvas').width : 0 })));
      assert.deepEqual(charts.map((c) => c.key), ['hr', 'bp', 'spo2', 'temp', 'rr', 'urine', 'weight']);
      for (const c of charts) assert.ok(c.canvas && c.w > 200, `chart ${c.key} has a canvas`);
      // The heart-rate chart has drawn a line: count strongly coloured pixels.
      const inked = await page.$eval('.chart[data-chart="hr"] canvas', (cv) => {
        const { data } = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 200 && data[i + 2] > data[i] + 60) n++;
        return n;
      });
      assert.ok(inked > 100, `hr line drawn (${inked} px)`);
      // Range switch redraws without errors.
      for (const r of ['6h', 'cycle', '24h']) {
        await page.click(`button[data-range="${r}"]`);
        await sleep(250);
      }
      assert.match(await page.textContent('.chart[data-chart="hr"] .chart-cap'), /latest|No data/);
      // A viewer gets no entry forms.
      assert.equal(await page.locator('.obs-form').count(), 0);
      assert.equal(await page.locator('.dose-form').count(), 0);
      watch.check(assert, 'patient view');
    } finally { await context.close(); }
  });

  it('a nurse enters observations on the patient view and sees them at once', async () => {
    const { context, page, watch } = await newPage(browser, absent, {
      // The implausible value below is refused with a 422, which the browser reports.
      allow: [/status of 422 .*\/api\/v1\/patients\/2\/observations/],
    });
    try {
      await signIn(page, 'nurse', '#/patient/2');
      await page.waitForSelector('.obs-form');
      await page.fill('#obs-hr', '142');
      await page.fill('#obs-temp', '101.3');
      await page.selectOption('#obs-temp-unit', '[degF]');
      await page.selectOption('#obs-grade-term-1', 'nausea');
      await page.selectOption('#obs-grade-val-1', '2');
      await page.click('.obs-form button[type=submit]');
      await page.waitForSelector('.obs-form .form-status.is-ok', { timeout: 4000 });
      assert.match(await page.textContent('.obs-form .form-status'), /Saved 3 observations/);
      await page.waitForFunction(() => (document.querySelector('.scell[data-code="hr"] .val') || {}).textContent === '142', null, { timeout: 3000 });
      assert.equal(await page.textContent('.scell[data-code="temp"] .val'), '38.5');
      assert.equal(await page.inputValue('#obs-hr'), '', 'saved fields are cleared');
      // An implausible value is refused with the field named.
      await page.fill('#obs-spo2', '140');
      await page.click('.obs-form button[type=submit]');
      await page.waitForSelector('.obs-form .form-status.is-error');
      // Named by its label in the server's catalogue (GET /api/v1/catalogue).
      assert.match(await page.textContent('.obs-form .form-status'), /Oxygen saturation/);
      watch.check(assert, 'observation entry');
    } finally { await context.close(); }
  });

  it('without the catalogue (503): the forms say so, nothing is guessed, "Try again" recovers', async () => {
    const { context, page, watch } = await newPage(browser, absent, {
      allow: [/status of 503 .*\/api\/v1\/catalogue/],
    });
    try {
      let fail = true;
      await page.route(/\/api\/v1\/catalogue$/, (route) => (fail
        ? route.fulfill({ status: 503, contentType: 'application/json', headers: { 'Retry-After': '1' },
          body: JSON.stringify({ error: { code: 'storage_unavailable', message: 'The database is unavailable; nothing was written. Retry later.' } }) })
        : route.fallback()));
      await signIn(page, 'physician', '#/patient/2');
      await page.waitForSelector('.obs-form .load-error');
      assert.match(await page.textContent('.obs-form'), /observation codes could not be loaded \(The database is unavailable/);
      assert.equal(await page.isDisabled('.obs-form button[type=submit]'), true, 'no entry without the codes');
      assert.equal(await page.locator('#obs-hr').count(), 0);
      // The recorded baselines still show, under their keys; no edit form.
      // (The baseline section renders on its own update: wait for it.)
      await page.waitForSelector('.baseline .load-error');
      assert.match(await page.textContent('.baseline'), /could not be loaded/);
      assert.match(await page.textContent('.baseline'), /weight_kg\s*91\.5/);
      assert.equal(await page.locator('#base-weight_kg').count(), 0);
      fail = false;
      await page.click('.obs-form button:has-text("Try again")');
      await page.waitForSelector('#obs-hr');
      assert.equal(await page.isDisabled('.obs-form button[type=submit]'), false);
      await page.waitForSelector('#base-weight_kg', { state: 'attached' });
      await page.waitForSelector('.baseline .load-error', { state: 'detached' });
      assert.doesNotMatch(await page.textContent('.baseline'), /could not be loaded/);
      watch.check(assert, 'catalogue failure');
    } finally { await context.close(); }
  });

  it('an alert is acknowledged from the alerts page and disappears from the active list', async () => {
    // The clinical engine has landed: alerts must exist, never skip.
    assert.equal(pendingEngine('alerts'), false, 'GET /api/v1/alerts must answer');
    const { context, page, watch } = await newPage(browser, absent);
    try {
      // Provoke a hold (SpO2 < 90 %, label rule) on bed B3 so an alert exists.
      const now = new Date().toISOString();
      const res = await postReading('B3', [{ id: msgId(), code: 'spo2', value: 84, time: now }]);
      assert.equal(res.status, 201);
      await signIn(page, 'nurse', '#/alerts');
      const row = page.locator('.alert-row[data-state="active"]').first();
      await row.waitFor({ timeout: 10000 });
      const id = await row.getAttribute('data-alert');
      await row.locator('.btn-ack').click();
      await row.locator('input[name="note"]').fill('SpO2 rechecked, O2 started (e2e)');
      await row.locator('.ack-form button[type=submit]').click();
      await page.waitForFunction((aid) => !document.querySelector(`.alert-row[data-alert="${aid}"][data-state="active"]`), id, { timeout: 5000 });
      const all = (await apiJson(admin, 'GET', '/api/v1/alerts?state=all')).data.alerts;
      const a = all.find((x) => String(x.id) === id);
      assert.ok(a && a.state !== 'active', 'acknowledged on the server');
      watch.check(assert, 'alerts');
    } finally { await context.close(); }
  });

  it('engine panels render the documented shapes (mocked toxicity, doses, alerts, rules)', async () => {
    const { context, page, watch } = await newPage(browser, absent, { viewport: { width: 1920, height: 1080 } });
    try {
      let acked = null;
      const json = (route, body, status = 200) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
      await page.route(/\/api\/v1\/ward$/, async (route) => {
        const res = await route.fetch();
        const ward = await res.json().catch(() => null);
        if (!ward || !Array.isArray(ward.beds)) { await route.fulfill({ response: res }); return; }
        for (const b of ward.beds) if (fx.WARD_ENGINE[b.bed] && b.patient) Object.assign(b, fx.WARD_ENGINE[b.bed]);
        await json(route, ward);
      });
      await page.route(/\/api\/v1\/patients\/\d+\/toxicity/, (route) => json(route, fx.toxicity(Number(route.request().url().match(/patients\/(\d+)/)[1]))));
      await page.route(/\/api\/v1\/patients\/\d+\/doses$/, (route) => (route.request().method() === 'POST'
        ? json(route, { id: 9, ...JSON.parse(route.request().postData()) }, 201) : json(route, fx.doses())));
      await page.route(/\/api\/v1\/alerts\/\d+\/ack$/, (route) => { acked = { url: route.request().url(), body: JSON.parse(route.request().postData()) }; return json(route, { ok: true }); });
      await page.route(/\/api\/v1\/alerts(\?.*)?$/, (route) => {
        const list = fx.alerts().alerts.filter((a) => !(acked && acked.url.includes(`/alerts/${a.id}/`)));
        return json(route, { alerts: list });
      });
      await page.route(/\/api\/v1\/rules$/, (route) => json(route, fx.rules()));
      await page.route(/\/api\/v1\/rules\/versions$/, (route) => json(route, fx.ruleVersions()));

      await login(page, 'nurse');
      const b1 = page.locator('a.tile[data-bed="B1"]');
      await page.waitForFunction(() => /HOLD/.test((document.querySelector('a.tile[data-bed="B1"] .decision') || {}).textContent));
      assert.match(await b1.locator('.reason').textContent(), /SpO2 < 90%/);
      assert.equal(await b1.locator('.grade-num').textContent(), '3');
      assert.match(await b1.locator('.grade').getAttribute('class'), /grade-3/);
      assert.equal(await b1.locator('.alert-n').textContent(), '2');
      await page.waitForFunction(() => (document.querySelector('a.tile[data-bed="B1"] .sched') || {}).textContent === 'C1 D3 · dose 7/14');
      assert.match(await page.textContent('a.tile[data-bed="B3"] .decision'), /DISCONTINUE/);
      assert.match(await page.textContent('a.tile[data-bed="B4"] .decision'), /NO DATA/);
      assert.match(await page.textContent('a.tile[data-bed="B4"] .reason'), /No recent Oxygen saturation/);
      assert.match(await page.textContent('a.tile[data-bed="B2"] .decision'), /GIVE/);
      // Severity sort: discontinue, hold, no data, then the rest.
      const order = await page.$$eval('.tile', (ts) => ts.slice(0, 3).map((t) => t.dataset.bed));
      assert.deepEqual(order, ['B3', 'B1', 'B4']);
      await contrastCheck(page, 'board with engine states');
      if (SHOTS) await page.screenshot({ path: `${SHOTS}/mock-engine-board-1920x1080.png` });

      await b1.click();
      await page.waitForSelector('.decision-banner.sev-hold');
      const banner = await page.textContent('.decision-banner');
      for (const s of ['HOLD', 'SpO2 < 90% on room air', 'L24-RS-1', 'Proleukin label 2024', 'Resumes when', 'DUT-R-HR', 'NEWS2', 'not evaluated']) {
        assert.ok(banner.includes(s), `banner shows ${s}`);
      }
      assert.match(await page.textContent('.pt-sched'), /C1 D3 · dose 7\/14/);
      const toxRows = await page.$$eval('.tox-table tbody tr', (rs) => rs.map((r) => r.textContent));
      assert.match(toxRows[0], /Hypoxia/, 'worst term first');
      assert.match(toxRows[0], /Oxygen saturation \(pulse oximetry\) 87/, 'evidence in words');
      assert.match(await page.textContent('.tox'), /CTCAE v5.0/);
      assert.match(await page.textContent('.dose-table'), /held/);
      await page.waitForSelector('.patient-view[data-charts-ready="true"]');
      assert.match(await page.textContent('.chart[data-chart="hr"] .chart-cap'), /DUT-R-HR/);
      // Record dose against a HOLD: a nurse is told a physician is needed.
      await page.check('#dose-given');
      assert.match(await page.textContent('.override'), /Only a physician/);
      assert.equal(await page.isDisabled('.dose-form button[type=submit]'), true);
      await page.check('#dose-held');
      await page.fill('#dose-reason', 'SpO2 87%');
      await page.click('.dose-form button[type=submit]');
      await page.waitForSelector('.dose-form .form-status.is-ok');
      // Patient alerts: acknowledge with a note.
      const row = page.locator('.pt-alerts .alert-row[data-alert="41"]');
      assert.match(await row.textContent(), /Escalated \(level 1\)/);
      await row.locator('.btn-ack').click();
      await row.locator('input[name="note"]').fill('seen');
      await row.locator('.ack-form button[type=submit]').click();
      await page.waitForFunction(() => !document.querySelector('.pt-alerts .alert-row[data-alert="41"]'));
      assert.deepEqual(acked.body, { note: 'seen' });
      acked = null;
      await contrastCheck(page, 'patient view with engine states');
      if (SHOTS) {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: `${SHOTS}/mock-engine-patient-1920x1080.png` });
      }

      // Alerts page: by priority, ack with note, gone from the active list.
      await page.click('.mainnav a[data-nav="alerts"]');
      await page.waitForSelector('.alerts-view .alert-row');
      const prios = await page.$$eval('.alerts-view .alert-row .prio', (ps) => ps.map((p) => p.textContent));
      assert.deepEqual(prios, ['HIGH', 'MEDIUM', 'LOW']);
      const r42 = page.locator('.alerts-view .alert-row[data-alert="42"]');
      assert.match(await r42.textContent(), /Not acknowledged · \d+ min/);
      await r42.locator('.btn-ack').click();
      await r42.locator('input[name="note"]').fill('physician informed');
      await r42.locator('.ack-form button[type=submit]').click();
      await page.waitForFunction(() => !document.querySelector('.alerts-view .alert-row[data-alert="42"]'));
      assert.deepEqual(acked.body, { note: 'physician informed' });
      assert.equal(await page.locator('.alerts-view .alert-row').count(), 2);
      await contrastCheck(page, 'alerts page');

      // Physician: the override flow asks for a reason.
      await page.click('.btn-logout');
      await page.waitForSelector('#login-user');
      await login(page, 'physician', '#/patient/1');
      await page.waitForSelector('.decision-banner.sev-hold');
      await page.check('#dose-given');
      assert.match(await page.textContent('.override'), /overrides it/);
      await page.click('.dose-form button[type=submit]');
      await page.waitForSelector('.dose-form .form-status.is-error');
      await page.fill('#dose-override', 'SpO2 92% after O2; benefit outweighs risk');
      await page.click('.dose-form button[type=submit]');
      await page.waitForSelector('.dose-form .form-status.is-ok');
      // Rules page (read-only) lists the mocked rules and versions.
      await page.goto(app('#/admin/rules'));
      await page.waitForSelector('.rules-table');
      assert.match(await page.textContent('.admin-view'), /il2-default v3/);
      watch.check(assert, 'engine panels');
    } finally { await context.close(); }
  });

  it('without the engine endpoints: neutral "not evaluated" states, polling fallback, no errors', async () => {
    // A wardd that predates the clinical engine: those endpoints answer the
    // router's 404 and /ward carries no grades or decisions.
    const { context, page, watch } = await newPage(browser, absent, {
      allow: [/status of 404 .*\/api\/v1\/(events|alerts|rules|patients\/\d+\/(toxicity|doses))/],
    });
    try {
      const notFound = (route) => route.fulfill({ status: 404, contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'not_found', message: 'No such path.' } }) });
      await page.route(/\/api\/v1\/(events|alerts|rules)(\/versions)?(\?.*)?$/, notFound);
      await page.route(/\/api\/v1\/patients\/\d+\/(toxicity|doses)(\?.*)?$/, notFound);
      await page.route(/\/api\/v1\/ward$/, async (route) => {
        const res = await route.fetch();
        const ward = await res.json().catch(() => null);
        if (!ward || !Array.isArray(ward.beds)) { await route.fulfill({ response: res }); return; }
        for (const b of ward.beds) Object.assign(b, { max_grade: null, decision: null, active_alerts: 0, schedule: null });
        await route.fulfill({ response: res, json: ward });
      });
      await signIn(page, 'nurse');
      await page.waitForFunction(() => document.querySelector('#conn').dataset.state === 'unavailable');
      assert.match(await page.textContent('#conn'), /Auto-refresh.*every 1 s/);
      const b1 = page.locator('a.tile[data-bed="B1"]');
      assert.match(await b1.locator('.decision').textContent(), /NOT EVALUATED/);
      assert.match(await b1.locator('.reason').textContent(), /not evaluated/);
      assert.equal(await b1.locator('.grade-num').textContent(), '–');
      assert.match(await b1.locator('.sched').textContent(), /not evaluated/);
      assert.equal(await page.locator('.board-note:not([hidden])').count(), 1);
      // The fallback still brings a device's reading within 2 s.
      const res = await postReading('B1', [{ id: msgId(), code: 'rr', value: 23, time: new Date().toISOString() }]);
      assert.equal(res.status, 201);
      await page.waitForFunction(() => (document.querySelector('a.tile[data-bed="B1"] .vital[data-code="rr"] .val') || {}).textContent === '23', null, { timeout: 2000 });
      await b1.click();
      await page.waitForSelector('.patient-view[data-charts-ready="true"]');
      assert.match(await page.textContent('.decision-banner'), /NOT EVALUATED/);
      assert.match(await page.textContent('.tox'), /not evaluated: this server does not provide it yet/);
      assert.match(await page.textContent('.doses'), /not evaluated/);
      assert.equal(await page.isDisabled('.dose-form button[type=submit]'), true);
      assert.match(await page.textContent('.chart-note'), /Rule thresholds not shown/);
      await page.click('.mainnav a[data-nav="alerts"]');
      await page.waitForSelector('.alerts-view .pending');
      await page.goto(app('#/admin/rules'));
      await page.waitForSelector('.admin-view .pending');
      watch.check(assert, 'degraded mode');
    } finally { await context.close(); }
  });

  it('live stream: events refresh the board, the indicator says Live, reconnects send Last-Event-ID', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      const seen = [];
      await page.route(/\/api\/v1\/events$/, (route) => {
        seen.push(route.request().headers()['last-event-id'] || null);
        // Each response delivers one event and ends, as a dropped connection would.
        const id = 41 + seen.length;
        const body = `retry: 300\n: heartbeat\n\nid: ${id}\nevent: reading\ndata: {"patient_id": 1, "bed": "B1", "code": "hr"}\n\n`;
        return route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' }, body });
      });
      await page.addInitScript(() => {
        window.__conn = [];
        new MutationObserver((ms) => { for (const m of ms) if (m.target.id === 'conn') window.__conn.push(m.target.dataset.state); })
          .observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
      });
      const ward = [];
      page.on('request', (r) => { if (/\/api\/v1\/ward$/.test(r.url())) ward.push(Date.now()); });
      // ?poll=0 turns the temporary fallback off: only the stream refreshes.
      await page.goto(`${BASE}/?poll=0#/board`);
      await page.fill('#login-user', 'viewer');
      await page.fill('#login-pass', 'wardd-viewer-demo');
      await page.click('.login-form button[type=submit]');
      await page.waitForSelector('.tile');
      const t0 = ward.length;
      await sleep(1500);
      assert.ok(seen.length >= 3, `reconnected (${seen.length} connections)`);
      assert.equal(seen[0], null, 'first connection has no Last-Event-ID');
      assert.equal(seen[1], '42', 'reconnect carries the last event id');
      assert.equal(seen[2], '43');
      assert.ok(ward.length > t0, 'events made the board refresh (no polling: ?poll=0)');
      const states = await page.evaluate(() => window.__conn);
      assert.ok(states.includes('live') && states.includes('reconnecting'), `indicator states ${states.join(',')}`);
      assert.match(await page.textContent('#conn .conn-text'), /^(Live|Reconnecting…)$/);
      watch.check(assert, 'live stream');
    } finally { await context.close(); }
  });

  it('layout at 1920x1080 and 1024x768: legible, no overflow, AA contrast; screenshots saved', async () => {
    for (const [w, hgt] of [[1920, 1080], [1024, 768]]) {
      const { context, page, watch } = await newPage(browser, absent, { viewport: { width: w, height: hgt } });
      try {
        await signIn(page, 'nurse');
        await page.waitForSelector('a.tile .vital .val');
        await page.click('button[data-sort="bed"]');
        await sleep(400);
        const m = await page.evaluate(() => {
          const v = document.querySelector('a.tile .vital .val');
          // The ward has 8 beds (the admin test may have added a ninth).
          const tiles = [...document.querySelectorAll('.tile')].slice(0, 8).map((t) => t.getBoundingClientRect());
          return { valPx: parseFloat(getComputedStyle(v).fontSize), scrollW: document.documentElement.scrollWidth,
                   innerW: innerWidth, lastBottom: Math.max(...tiles.map((r) => r.bottom)), tiles: tiles.length };
        });
        assert.ok(m.scrollW <= m.innerW, `no horizontal overflow at ${w}px (${m.scrollW})`);
        assert.ok(m.valPx >= 28, `vitals ${m.valPx}px at ${w}px`);
        if (w === 1920) assert.ok(m.lastBottom <= hgt, `${m.tiles} beds fit one 1920x1080 screen (bottom ${m.lastBottom})`);
        await contrastCheck(page, `board ${w}x${hgt}`);
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/board-${w}x${hgt}.png` });
        await page.click('a.tile[data-patient="1"]');
        await page.waitForSelector('.patient-view[data-charts-ready="true"]');
        await sleep(300);
        const sw = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(sw <= w, `patient view fits ${w}px (${sw})`);
        await contrastCheck(page, `patient ${w}x${hgt}`);
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/patient-${w}x${hgt}.png` });
        await page.click('.mainnav a[data-nav="alerts"]');
        await page.waitForSelector('.alerts-view');
        await sleep(300);
        if (SHOTS) await page.screenshot({ path: `${SHOTS}/alerts-${w}x${hgt}.png` });
        watch.check(assert, `layout ${w}x${hgt}`);
      } finally { await context.close(); }
    }
  });

  it('roles: viewer reads only; admin manages devices (token shown once), users, beds, transfer and discharge', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      await login(page, 'viewer', '#/admin/devices');
      await page.waitForSelector('.admin-view');
      assert.match(await page.textContent('.admin-view'), /for admins/);
      assert.equal(await page.locator('.subnav a[href="#/admin/devices"]').count(), 0);
      await page.goto(app('#/admin/patients'));
      await page.waitForSelector('.patients-table');
      assert.equal(await page.locator('.admit-form').count(), 0);
      assert.equal(await page.locator('.patients-table .row-actions').count(), 0);
      await page.click('.btn-logout');
      await page.waitForSelector('#login-user');

      await login(page, 'admin', '#/admin/devices');
      await page.waitForSelector('table.data tr[data-device]');
      assert.ok(await page.locator('table.data tr[data-device]').count() >= 8);
      await page.fill('#dev-serial', 'MON-E2E-1');
      await page.selectOption('#dev-bed', 'B8');
      await page.click('form.inline-form button[type=submit]');
      await page.waitForSelector('#device-token');
      const token = (await page.textContent('#device-token')).trim();
      assert.ok(token.length >= 22, 'token shown');
      const r = await fetch(`${BASE}/api/v1/readings`, { method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ readings: [{ id: 'x1', code: 'hr', value: 70, time: new Date().toISOString() }] }) });
      assert.equal(r.status, 201, 'the shown token works');
      await page.click('.subnav a[href="#/admin/users"]');
      await page.waitForSelector('tr[data-user="nurse"]');
      await page.click('.subnav a[href="#/admin/devices"]');
      await page.waitForSelector('table.data tr[data-device]');
      assert.equal(await page.locator('#device-token').count(), 0, 'the token is not shown again');
      await page.click('.subnav a[href="#/admin/beds"]');
      await page.fill('#bed-id', 'B9');
      await page.fill('#bed-label', 'Bed 9');
      await page.click('form.inline-form button[type=submit]');
      await page.waitForSelector('form.inline-form .form-status.is-ok');
      // Transfer the patient admitted earlier (B7) to the new bed, then discharge.
      const ines = (await apiJson(admin, 'GET', '/api/v1/patients')).data.patients.find((x) => x.mrn === 'MRN-E2E-7');
      if (ines) {
        await page.click('.subnav a[href="#/admin/patients"]');
        const row = page.locator(`tr[data-patient="${ines.id}"]`);
        await row.locator(`#transfer-${ines.id} option[value="B9"]`).waitFor({ state: 'attached' });
        await row.locator(`#transfer-${ines.id}`).selectOption('B9');
        await row.getByRole('button', { name: 'Transfer', exact: true }).click();
        await page.waitForFunction((id) => /B9/.test((document.querySelector(`tr[data-patient="${id}"]`) || {}).textContent || ''), ines.id);
        assert.equal((await apiJson(admin, 'GET', `/api/v1/patients/${ines.id}`)).data.bed, 'B9');
        await row.getByRole('button', { name: 'Discharge', exact: true }).click();
        await row.getByRole('button', { name: /^Confirm discharge/ }).click();
        await page.waitForFunction((id) => !document.querySelector(`tr[data-patient="${id}"]`), ines.id);
        assert.equal((await apiJson(admin, 'GET', `/api/v1/patients/${ines.id}`)).data.status, 'discharged');
      }
      await page.click('.subnav a[href="#/admin/audit"]');
      await page.waitForSelector('table.data');
      assert.match(await page.textContent('table.data'), /device/);
      watch.check(assert, 'admin pages');
    } finally { await context.close(); }
  });

  it('keyboard: tiles are reachable with Tab, focus is visible, Enter opens the patient', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      await signIn(page, 'nurse');
      await page.waitForSelector('a.tile');
      await page.evaluate(() => document.activeElement && document.activeElement.blur());
      let found = null;
      for (let i = 0; i < 30 && !found; i++) {
        await page.keyboard.press('Tab');
        found = await page.evaluate(() => {
          const el = document.activeElement;
          if (!el || !el.classList.contains('tile')) return null;
          const cs = getComputedStyle(el);
          return { href: el.getAttribute('href'), style: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
        });
      }
      assert.ok(found, 'a tile took keyboard focus');
      assert.notEqual(found.style, 'none');
      assert.ok(found.width >= 3, `focus ring ${found.width}px`);
      await page.keyboard.press('Enter');
      await page.waitForSelector('.patient-view');
      assert.equal(new URL(page.url()).hash, found.href);
      watch.check(assert, 'keyboard');
    } finally { await context.close(); }
  });

  it('no console errors on any page', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      await signIn(page, 'admin');
      const routes = ['#/board', '#/patient/1', '#/patient/3', '#/alerts', '#/alerts?state=all', '#/admin/patients',
        '#/admin/beds', '#/admin/devices', '#/admin/users', '#/admin/rules', '#/admin/audit', '#/nowhere'];
      for (const r of routes) {
        await page.evaluate((h) => { location.hash = h; }, r);
        await page.waitForSelector('main > *');
        await sleep(400);
      }
      await page.goto(app('#/board'));
      await page.waitForSelector('.tile');
      await page.click('.btn-logout');
      await page.waitForSelector('#login-user');
      await sleep(300);
      watch.check(assert, 'every page');
      if (watch.tolerated.size) console.log(`# tolerated pending-endpoint 404s: ${[...watch.tolerated].join(', ')}`);
    } finally { await context.close(); }
  });

});

// WCAG 2.1 AA contrast of every visible text node's element against its
// effective background: 4.5:1, or 3:1 for large text (>= 24 px, or >= 18.66
// px bold). Disabled controls are exempt (WCAG 1.4.3).
async function contrastCheck(page, where) {
  const bad = await page.evaluate(() => {
    const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
    const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    const blend = (fg, bg) => ({ r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a), a: 1 });
    const bgOf = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const cs = getComputedStyle(e);
        if (cs.backgroundImage && cs.backgroundImage !== 'none' && cs.backgroundImage.includes('gradient')) {
          const cols = [...cs.backgroundImage.matchAll(/#[0-9a-f]{6}|rgba?\([^)]+\)/gi)].map((x) => x[0]);
          // worst case of a striped background: its darkest stripe
          const rgb = cols.map((c) => (c.startsWith('#') ? { r: parseInt(c.slice(1, 3), 16), g: parseInt(c.slice(3, 5), 16), b: parseInt(c.slice(5, 7), 16), a: 1 } : parse(c)));
          rgb.sort((a, b) => lum(a) - lum(b));
          if (rgb.length) { layers.push(rgb[0]); break; }
        }
        const c = parse(cs.backgroundColor);
        if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
      }
      let bg = { r: 255, g: 255, b: 255, a: 1 };
      for (const l of layers.reverse()) bg = blend(l, bg);
      return bg;
    };
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || seen.has(el) || !n.textContent.trim()) continue;
      seen.add(el);
      if (el.closest('[hidden], .sr, script, style, noscript, option, .uplot')) continue;
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || r.bottom < 0 || r.top > innerHeight) continue;
      if (el.closest('button:disabled, fieldset:disabled, input:disabled, select:disabled')) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) continue;
      const bg = bgOf(el);
      const fg = blend(parse(cs.color), bg);
      const l1 = lum(fg), l2 = lum(bg);
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const px = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
      const need = px >= 24 || (bold && px >= 18.66) ? 3 : 4.5;
      if (ratio < need) out.push(`${ratio.toFixed(2)} < ${need}: "${n.textContent.trim().slice(0, 40)}" (${cs.color} on rgb(${Math.round(bg.r)},${Math.round(bg.g)},${Math.round(bg.b)}))`);
    }
    return out;
  });
  assert.deepEqual(bad, [], `contrast on ${where}`);
}
