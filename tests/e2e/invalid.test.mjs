// Browser test of the patient page's "Recent readings" card
// (web/js/views/patient_invalid.js): a nurse marks a device's SpO2 artefact
// invalid with a reason and sees it struck through with who and why; a
// physician reinstates it; a viewer sees the card without the buttons.
// Run by tests/e2e/run.sh against a demo ward.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, launch, session, apiJson, absentEngineEndpoints, newPage, signIn } from './lib.mjs';

let browser, absent, nurse, PID;
let device; // {token} of this test's own monitor

// A bed, monitor and patient of this test's own, so that the artefact below
// changes no decision the other browser tests look at.
async function ownBedside() {
  const admin = await session('admin');
  const bed = `E2EINV${process.pid % 10000}`;
  assert.equal((await apiJson(admin, 'POST', '/api/v1/beds', { id: bed, label: 'E2E invalid readings' })).status, 201);
  const d = await apiJson(admin, 'POST', '/api/v1/devices', { serial: `MON-${bed}`, bed });
  assert.equal(d.status, 201);
  device = d.data;
  const p = await apiJson(nurse, 'POST', '/api/v1/patients', { name: 'Invalid Readings', mrn: `MRN-${bed}`, bed });
  assert.equal(p.status, 201);
  PID = p.data.id;
}

// The artefact: SpO2 71 % from the monitor, now. Returns the reading's id.
async function postArtefact() {
  const r = await fetch(`${BASE}/api/v1/readings`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${device.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ readings: [
      { id: `E2E-INV-${process.pid}-1`, code: 'spo2', value: 96, time: new Date(Date.now() - 60e3).toISOString() },
      { id: `E2E-INV-${process.pid}-2`, code: 'spo2', value: 71, time: new Date().toISOString() }] }),
  });
  assert.equal(r.status, 201);
  const list = await apiJson(nurse, 'GET', `/api/v1/patients/${PID}/readings?code=spo2`);
  return list.data.readings.find((x) => x.value === 71).id;
}

describe('invalid readings on the patient page', () => {
  before(async () => {
    browser = await launch();
    nurse = await session('nurse');
    absent = await absentEngineEndpoints(nurse);
    await ownBedside();
  });
  after(async () => { if (browser) await browser.close(); });

  it('a nurse marks an artefact invalid (struck through, who and why); a physician reinstates it; a viewer has no buttons', async () => {
    const id = await postArtefact();
    const row = `.pt-readings .inv-row[data-reading="${id}"]`;
    let { context, page, watch } = await newPage(browser, absent);
    try {
      await signIn(page, 'nurse', `#/patient/${PID}`);
      await page.waitForSelector(row);
      await page.click(`${row} button`);
      await page.fill(`${row} .inv-form input`, 'motion artefact: probe loose');
      await page.click(`${row} .inv-form button[type=submit]`);
      await page.waitForSelector(`${row}.is-invalid`);
      assert.equal(await page.locator(`${row} s .inv-value`).count(), 1, 'the value is struck through');
      const note = await page.textContent(`${row} .inv-note`);
      assert.match(note, /motion artefact: probe loose/);
      assert.match(note, /nurse/);
      assert.equal(await page.locator(`${row} button`).count(), 0, 'a nurse may not reinstate');
      const api = await apiJson(nurse, 'GET', `/api/v1/patients/${PID}/readings?code=spo2&include_invalid=1`);
      assert.equal(api.data.readings.find((x) => x.id === id).invalid.by, 'nurse');
      if (SHOTS) await page.locator('.pt-readings').screenshot({ path: `${SHOTS}/patient-invalid-reading.png` });
      watch.check(assert, 'marking a reading invalid');
    } finally { await context.close(); }

    ({ context, page, watch } = await newPage(browser, absent));
    try {
      await signIn(page, 'viewer', `#/patient/${PID}`);
      await page.waitForSelector(`${row}.is-invalid`);
      assert.equal(await page.locator('.pt-readings button').count(), 0, 'a viewer has no buttons');
      watch.check(assert, 'viewer');
    } finally { await context.close(); }

    ({ context, page, watch } = await newPage(browser, absent));
    try {
      await signIn(page, 'physician', `#/patient/${PID}`);
      await page.waitForSelector(`${row}.is-invalid`);
      await page.click(`${row} button`);
      await page.waitForSelector(`${row}:not(.is-invalid)`);
      assert.equal(await page.locator(`${row} .inv-note`).count(), 0);
      watch.check(assert, 'reinstating a reading');
    } finally { await context.close(); }
  });
});
