// Shared helpers of the browser tests: the server run.sh started, the
// browser, logins, and a console watcher that fails a test on any console
// error or uncaught exception.

import { readFileSync, mkdtempSync, rmSync, openSync, closeSync, existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { markMocked, recordApiResponses } from './response-log.mjs';

export const BASE = process.env.WARDD_URL;
export const SHOTS = process.env.WARDD_SHOTS;
if (!BASE) throw new Error('WARDD_URL is not set: run the browser tests with tests/e2e/run.sh');

// The fallback refresh interval used by the tests (web/js/live.js
// FALLBACK_POLL_MS, overridable with ?poll=). With /api/v1/events live it
// is not used at all.
export const POLL_MS = 1000;
export const app = (hash = '#/board', base = BASE) => `${base}/?poll=${POLL_MS}${hash}`;

export function devices() {
  return JSON.parse(readFileSync(process.env.WARDD_DEVICES, 'utf8'));
}

// Debian's chromium, never a downloaded browser. Without the
// background-networking flags chromium tries to reach Google services,
// which a closed network refuses.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

// ---- HTTP helpers (Node's fetch) --------------------------------------------------
// `base`: another wardd than run.sh's (startWardd below); default run.sh's.
export async function session(role, base = BASE) {
  const r = await fetch(`${base}/api/v1/session`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: role, password: `wardd-${role}-demo` }),
  });
  if (r.status !== 200) throw new Error(`login ${role}: ${r.status}`);
  return (await r.json()).token;
}

export async function apiJson(token, method, path, body, base = BASE) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  return { status: r.status, data };
}

// Status of an endpoint without reading a (possibly endless) body.
export async function probe(token, path, base = BASE) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 3000);
  try {
    const r = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` }, signal: ctl.signal });
    const status = r.status;
    ctl.abort();
    return status;
  } catch (e) {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

// The engine's endpoints, which a server older than the engine lacks. A
// page that asks for one of them gets a 404 (or 501), which chromium reports as a console
// error "Failed to load resource"; the watcher tolerates exactly those
// (and says so), for the endpoints this server lacks, and nothing else.
export const ENGINE_ENDPOINTS = [
  { key: 'events', path: '/api/v1/events', re: /\/api\/v1\/events(\?|$)/ },
  { key: 'toxicity', path: '/api/v1/patients/1/toxicity', re: /\/api\/v1\/patients\/\d+\/toxicity(\?|$)/ },
  { key: 'doses', path: '/api/v1/patients/1/doses', re: /\/api\/v1\/patients\/\d+\/doses(\?|$)/ },
  { key: 'alerts', path: '/api/v1/alerts', re: /\/api\/v1\/alerts(\?|$)/ },
  { key: 'rules', path: '/api/v1/rules', re: /\/api\/v1\/rules(\?|$)/ },
  { key: 'rules/versions', path: '/api/v1/rules/versions', re: /\/api\/v1\/rules\/versions(\?|$)/ },
];
export async function absentEngineEndpoints(token, base = BASE) {
  const absent = [];
  for (const e of ENGINE_ENDPOINTS) {
    const s = await probe(token, e.path, base);
    // A 500 or 503 is a failure, not absence: the tests must see it.
    if (s === 404 || s === 501) absent.push({ ...e, status: s });
  }
  return absent;
}

export class ConsoleWatch {
  constructor(page, absent, extraAllowed = []) {
    this.errors = [];
    this.tolerated = new Set();
    this.allowed = [...extraAllowed];
    page.on('console', (m) => {
      if (m.type() !== 'error' && m.type() !== 'assert') return;
      const url = (m.location() && m.location().url) || '';
      const text = m.text();
      if (/^Failed to load resource: the server responded with a status of (404|501)/.test(text)) {
        const hit = absent.find((e) => e.re.test(url));
        if (hit) { this.tolerated.add(`${hit.key} (${hit.status})`); return; }
      }
      for (const a of this.allowed) if (a.test(`${text} ${url}`)) return;
      this.errors.push(`console.${m.type()}: ${text}${url ? ` [${url}]` : ''}`);
    });
    page.on('pageerror', (e) => this.errors.push(`uncaught: ${e.message}`));
  }

  // From now on, console errors matching re are expected (e.g. after sign-out).
  allow(re) {
    this.allowed.push(re);
  }

  check(assert, where) {
    assert.deepEqual(this.errors, [], `console errors on ${where}`);
  }
}

export async function newPage(browser, absent, opts = {}) {
  const context = await browser.newContext({ viewport: opts.viewport || { width: 1280, height: 900 } });
  recordApiResponses(context); // API contract check: tests/e2e/response-log.mjs
  const page = await context.newPage();
  page.setDefaultTimeout(8000);
  const route = page.route.bind(page);
  page.route = (...args) => { // answers of the test's own are not wardd's: not logged
    markMocked(page);
    return route(...args);
  };
  const watch = new ConsoleWatch(page, absent, opts.allow || []);
  return { context, page, watch };
}

export async function login(page, role, hash = '#/board') {
  // A full load, not a hash change within the page that is already open.
  if (page.url() !== 'about:blank') await page.goto('about:blank');
  await page.goto(app(hash));
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', role);
  await page.fill('#login-pass', `wardd-${role}-demo`);
  await page.click('.login-form button[type=submit]');
  await page.waitForSelector('#topbar:not([hidden])');
}

// Signs in without the login page: a session made over the API, its
// cookie given to the browser (as the login page's POST would have set it).
// For tests that do not sign out; the login page has its own test.
export async function signIn(page, role, hash = '#/board', base = BASE) {
  const token = await session(role, base);
  const context = page.context();
  await context.addCookies([{ name: 'wardd_session', value: token, url: base, httpOnly: true, sameSite: 'Strict' }]);
  await context.addInitScript(() => { try { localStorage.setItem('wardd.signedIn', '1'); } catch (e) { /* */ } });
  await page.goto(app(hash, base));
  await page.waitForSelector('#topbar:not([hidden])');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A short-lived wardd of the test's own: its own demo ward in its own
// temporary directory, serving this checkout's web/, started with
// `args` added to `wardd serve` (e.g. ['--disk-warn-bytes', N]). For state
// that would show on every page of the other tests, which share run.sh's
// server (a technical alert's strip). WARDD_BIN is set by run.sh. Returns
// {base, dir, mllpPort(), log(), stop()}; stop() sends SIGTERM and waits.
export async function startWardd(args = []) {
  const bin = process.env.WARDD_BIN;
  if (!bin) throw new Error('WARDD_BIN is not set: run the browser tests with tests/e2e/run.sh');
  const web = resolve(dirname(fileURLToPath(import.meta.url)), '../../web');
  const dir = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'wardd-e2e-own.'));
  execFileSync(bin, ['demo', '--db', join(dir, 'ward.db'), '--out', join(dir, 'devices.json')], { stdio: 'ignore' });
  const out = openSync(join(dir, 'server.log'), 'a');
  const child = spawn(bin, ['serve', '--db', join(dir, 'ward.db'), '--listen', '127.0.0.1:0',
    '--port-file', join(dir, 'port'), '--web', web, ...args], { stdio: ['ignore', out, out] });
  closeSync(out);
  let exited = null;
  const done = new Promise((res) => child.on('exit', (code, sig) => { exited = { code, sig }; res(exited); }));
  const kill = () => { if (!exited) child.kill('SIGTERM'); };
  process.once('exit', kill); // never outlive the test file
  const log = () => { try { return readFileSync(join(dir, 'server.log'), 'utf8'); } catch (e) { return ''; } };
  const portOf = (file) => Number(readFileSync(join(dir, file), 'utf8').trim());
  for (let i = 0; !existsSync(join(dir, 'port')) || !readFileSync(join(dir, 'port'), 'utf8').trim(); i++) {
    if (exited || i > 100) { kill(); throw new Error(`own wardd did not start:\n${log()}`); }
    await sleep(100);
  }
  return {
    base: `http://127.0.0.1:${portOf('port')}`,
    dir,
    mllpPort: () => portOf('port.mllp'),
    log,
    async stop() {
      kill();
      const r = await done;
      process.removeListener('exit', kill);
      if (process.env.KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
}
