// Browser test of Administration > HL7 feeds (web/js/views/feeds.js),
// run by tests/e2e/run.sh against the demo ward in Debian's chromium: an
// admin registers a feed with the form and sees it listed with its counts,
// sets a bed's HL7 location, and disables the feed; no console errors
// (the page runs under the dashboard's strict CSP).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, session, apiJson, absentEngineEndpoints, newPage, signIn } from './lib.mjs';

let browser, admin, absent;

describe('admin: HL7 feeds', () => {
  before(async () => {
    browser = await launch();
    admin = await session('admin');
    absent = await absentEngineEndpoints(admin);
  });
  after(async () => { await browser.close(); });

  it('registers a feed, lists it with counts, maps a bed location, disables the feed', async () => {
    const { context, page, watch } = await newPage(browser, absent);
    try {
      await signIn(page, 'admin', '#/admin/feeds');
      await page.waitForSelector('#feed-add-h');
      const name = `GW-E2E-${process.pid}`;
      await page.fill('#feed-name', name);
      await page.selectOption('#feed-kind', 'device_gateway');
      await page.fill('#feed-app', name);
      await page.fill('#feed-fac', 'NLH');
      await page.fill('#feed-addr', '127.0.0.1, 10.0.0.7');
      await page.click('form.inline-form button[type=submit]');
      await page.waitForSelector('form.inline-form .form-status.is-ok');
      const row = page.locator('table.data tr', { hasText: name });
      await row.waitFor();
      assert.match(await row.textContent(), /AA 0 · AE 0 · AR 0/);
      assert.match(await row.textContent(), /none yet/);
      const feeds = (await apiJson(admin, 'GET', '/api/v1/feeds')).data.feeds;
      const f = feeds.find((x) => x.name === name);
      assert.deepEqual(f.addresses, ['127.0.0.1', '10.0.0.7']);

      const input = page.locator('input[aria-label="Location of B1"]');
      await input.fill('IL2U^101^1');
      await page.locator('tr', { has: input }).locator('button').click();
      await page.waitForSelector('text=B1: location saved.');
      const beds = (await apiJson(admin, 'GET', '/api/v1/bed-locations')).data.beds;
      assert.equal(beds.find((b) => b.id === 'B1').location, 'IL2U^101^1');

      await row.getByRole('button', { name: 'Disable', exact: true }).click();
      await row.getByRole('button', { name: 'Disable feed', exact: true }).click();
      await page.waitForSelector(`text=${name} disabled.`);
      const after2 = (await apiJson(admin, 'GET', '/api/v1/feeds')).data.feeds.find((x) => x.name === name);
      assert.equal(after2.enabled, false);
      watch.check(assert, '#/admin/feeds');
    } finally {
      await context.close();
    }
  });
});
