// The dashboard under its Content-Security-Policy (docs/security.md): the
// policy arrives with every page, and signing in, the board, a patient's
// charts (uPlot) and the admin pages load without one violation. A
// violation is caught twice: the `securitypolicyviolation` DOM event
// (recorded by an init script before any page script runs) and the console
// error chromium prints for it (the ConsoleWatch of lib.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, app, launch, session, absentEngineEndpoints, newPage } from './lib.mjs';

const POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
  + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

let browser, absent;

// The login form of the page that is open (login() of lib.mjs passes
// through about:blank, whose favicon request chromium may report as an
// error that has nothing to do with the policy).
async function signInHere(page, role) {
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', role);
  await page.fill('#login-pass', `wardd-${role}-demo`);
  await page.click('.login-form button[type=submit]');
  await page.waitForSelector('#topbar:not([hidden])');
}

describe('content security policy', () => {
  before(async () => {
    browser = await launch();
    absent = await absentEngineEndpoints(await session('admin'));
  });

  after(async () => {
    if (browser) await browser.close();
  });

  it('every dashboard file carries the policy, nosniff and no-referrer', async () => {
    for (const path of ['/', '/index.html', '/js/main.js', '/css/app.css', '/vendor/uPlot.iife.min.js']) {
      const r = await fetch(`${BASE}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-security-policy'), POLICY, path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
    }
  });

  it('login, board, patient charts and admin pages load with no violation', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    await context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    const violations = [];
    const collect = async () => violations.push(...(await page.evaluate(() => window.__csp || [])));
    try {
      const first = await page.goto(app('#/login'));
      assert.equal(first.headers()['content-security-policy'], POLICY);
      await signInHere(page, 'physician');
      await page.goto(app('#/board'));
      await page.waitForSelector('.tile');
      await collect();
      await page.goto(app('#/patient/1'));
      await page.waitForSelector('.patient-view[data-charts-ready="true"]');
      await collect();
      await page.goto(app('#/alerts'));
      await page.waitForSelector('#main');
      await collect();
      // Sign out and in again on the same page.
      await page.click('.btn-logout');
      await page.waitForSelector('#login-user');
      await signInHere(page, 'admin');
      await page.goto(app('#/admin/devices'));
      await page.waitForSelector('.subnav');
      await collect();
      assert.deepEqual(violations, [], 'CSP violations');
      watch.check(assert, 'the CSP tour');
    } finally { await context.close(); }
  });
});
