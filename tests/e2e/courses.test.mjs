// Browser test of the patient page's courses card (web/js/views/courses.js)
// and of ward time (web/js/wardtime.js), run by tests/e2e/run.sh against the
// demo ward: a person's second admission shows "not scheduled" with the
// server's reason until a physician records the response of course 1 in
// the card; the header shows times in the ward's zone.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, session, apiJson, absentEngineEndpoints, newPage, signIn } from './lib.mjs';

let browser, admin, absent;

describe('courses card', () => {
  before(async () => {
    browser = await launch();
    admin = await session('admin');
    absent = await absentEngineEndpoints(admin);
  });
  after(async () => { if (browser) await browser.close(); });

  it('shows the course, why it is not scheduled, and records a response', async () => {
    const nurse = await session('nurse');
    const mrn = `E2E-C-${process.pid}`;
    const bed = `EC${process.pid % 1000}`;
    assert.equal((await apiJson(admin, 'POST', '/api/v1/beds', { id: bed, label: 'Courses test' })).status, 201);
    const first = await apiJson(nurse, 'POST', '/api/v1/patients',
      { mrn, name: 'Course Person', bed, admitted_at: '2026-01-05T06:00:00Z' });
    assert.equal(first.status, 201);
    const physician = await session('physician');
    assert.equal((await apiJson(physician, 'POST', `/api/v1/patients/${first.data.id}/doses`,
      { time: '2026-01-05T08:00:00Z', status: 'given', override_reason: 'e2e course 1',
        backentry_reason: 'e2e: course 1 charted months later' })).status, 201);
    assert.equal((await apiJson(nurse, 'POST', `/api/v1/patients/${first.data.id}/discharge`,
      { time: '2026-01-24T12:00:00Z' })).status, 200);
    const second = await apiJson(nurse, 'POST', '/api/v1/patients', { mrn, name: 'Course Person', bed });
    assert.equal(second.status, 201);

    const { context, page, watch } = await newPage(browser, absent);
    await signIn(page, 'physician', `#/patient/${second.data.id}`);
    await page.waitForSelector('.courses .course-now');
    await page.waitForFunction(() => /not scheduled/.test(document.querySelector('.courses .course-now').textContent));
    assert.match(await page.textContent('.courses .course-gate'), /no response evaluation recorded for course 1/);
    assert.match(await page.textContent('.courses .course-list'), /No response evaluation recorded/);

    await page.selectOption('.course-form select[name=course]', '1');
    await page.selectOption('.course-form select[name=category]', 'PR');
    await page.fill('.course-form input[name=date]', '2026-03-05');
    await page.fill('.course-form input[name=note]', 'CT -38 %');
    await page.click('.course-form button[type=submit]');
    await page.waitForFunction(() => /CT -38 %/.test(document.querySelector('.courses .course-list').textContent));
    await page.waitForFunction(() => /of course 2|Course 2, before/.test(document.querySelector('.courses .course-now').textContent), null, { timeout: 15000 });
    watch.check(assert, 'patient page with courses');
    await context.close();
  });
});
