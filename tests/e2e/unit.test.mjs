// Unit tests of the dashboard's pure modules (web/js/format.js, sse.js,
// technical.js,
// api.js's optional() against a stubbed fetch, catalogue.js against a
// canned GET /api/v1/catalogue),
// checks of the vendored uPlot against its lockfile, and static checks of
// web/ (no inline scripts or handlers, every import resolves). No browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as f from '../../web/js/format.js';
import { SSEParser } from '../../web/js/sse.js';
import { Live } from '../../web/js/live.js';
import * as api from '../../web/js/api.js';
import * as cat from '../../web/js/catalogue.js';
import { termOptions } from '../../web/js/views/patient/observations.js';
import * as alarm from '../../web/js/alarm.js';
import * as tech from '../../web/js/technical.js';
import * as fx from './fixtures.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const web = join(repo, 'web');

test('vendored uPlot is byte-identical to the locked npm release', () => {
  const pkg = JSON.parse(readFileSync(join(web, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(web, 'package-lock.json'), 'utf8'));
  const want = pkg.dependencies.uplot;
  assert.match(want, /^\d+\.\d+\.\d+$/, 'web/package.json pins an exact uplot version');
  assert.equal(lock.packages['node_modules/uplot'].version, want, 'lockfile agrees with package.json');
  assert.deepEqual(Object.keys(pkg.dependencies), ['uplot'], 'no other runtime library');
  const deps = process.env.WARDD_WEB_DEPS || join(repo, 'build/web-deps');
  const dist = join(deps, 'node_modules/uplot/dist');
  assert.ok(existsSync(dist), `${dist} missing: run.sh installs web/package-lock.json there with npm ci`);
  const installed = JSON.parse(readFileSync(join(deps, 'node_modules/uplot/package.json'), 'utf8'));
  assert.equal(installed.version, want);
  for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
    assert.ok(readFileSync(join(web, 'vendor', file)).equals(readFileSync(join(dist, file))),
      `web/vendor/${file} differs from uplot ${want}: run web/vendor/update.sh`);
  }
});

test('playwright-core is pinned to an exact 1.61 release', () => {
  const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
  assert.match(pkg.devDependencies['playwright-core'], /^1\.61\.\d+$/);
  assert.equal(lock.packages['node_modules/playwright-core'].version, pkg.devDependencies['playwright-core']);
});

function webFiles(dir, ext) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...webFiles(p, ext));
    else if (p.endsWith(ext)) out.push(p);
  }
  return out;
}

test('web/ has no inline scripts, inline handlers or innerHTML (strict CSP ready)', () => {
  for (const p of webFiles(web, '.html')) {
    const html = readFileSync(p, 'utf8');
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      assert.match(m[1], /\bsrc=/, `${p}: inline <script>`);
      assert.equal(m[2].trim(), '', `${p}: inline script body`);
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${p}: inline event handler`);
    assert.doesNotMatch(html, /style\s*=/i, `${p}: inline style`);
    assert.doesNotMatch(html, /https?:\/\//i, `${p}: nothing is fetched from the internet`);
  }
  for (const p of webFiles(join(web, 'js'), '.js')) {
    const js = readFileSync(p, 'utf8');
    assert.doesNotMatch(js, /\.innerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, `${p}: builds markup from strings`);
    assert.doesNotMatch(js, /console\.(log|error|warn)\(/, `${p}: leaves console output`);
    assert.doesNotMatch(js, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${p}: external URL`);
  }
});

test('every module import in web/js resolves to a file', () => {
  for (const p of webFiles(join(web, 'js'), '.js')) {
    const js = readFileSync(p, 'utf8');
    for (const m of js.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
      assert.ok(existsSync(resolve(dirname(p), m[1])), `${p}: import ${m[1]}`);
    }
  }
  const html = readFileSync(join(web, 'index.html'), 'utf8');
  for (const m of html.matchAll(/(?:src|href)="([^"#][^"]*)"/g)) {
    assert.ok(existsSync(join(web, m[1])), `index.html references ${m[1]}`);
  }
});

test('format: staleness at 15 min and 4 h, inclusive bounds as stated', () => {
  assert.equal(f.staleness(0), 'fresh');
  assert.equal(f.staleness(15 * 60), 'fresh');
  assert.equal(f.staleness(15 * 60 + 1), 'stale');
  assert.equal(f.staleness(4 * 3600), 'stale');
  assert.equal(f.staleness(4 * 3600 + 1), 'old');
  assert.equal(f.staleness(null), 'none');
  assert.equal(f.staleness(undefined), 'none');
});

test('format: ages', () => {
  assert.equal(f.fmtAge(0), '0 s');
  assert.equal(f.fmtAge(59.9), '59 s');
  assert.equal(f.fmtAge(60), '1 min');
  assert.equal(f.fmtAge(3599), '59 min');
  assert.equal(f.fmtAge(3600 + 5 * 60), '1 h 05');
  assert.equal(f.fmtAge(3 * 86400), '3 d');
  assert.equal(f.fmtAge(-4), '0 s', 'clock skew never shows a negative age');
  assert.equal(f.fmtAge(null), '');
});

test('format: schedule text "C1 D3 · dose 7/14"', () => {
  assert.equal(f.scheduleText({ status: 'due', cycle: 1, day: 3, dose_in_cycle: 7, max_doses_per_cycle: 14 }), 'C1 D3 · dose 7/14');
  assert.equal(f.scheduleText({ status: 'rest', cycle: 1, day: 8, dose_in_cycle: null, max_doses_per_cycle: 14 }), 'C1 D8 · rest');
  assert.equal(f.scheduleText({ status: 'cycle_complete', cycle: 1, day: 6 }), 'C1 D6 · cycle complete');
  assert.equal(f.scheduleText({ status: 'course_complete', cycle: 2, day: 19 }), 'Course complete');
  assert.equal(f.scheduleText({ status: 'due', cycle: 0, day: 0, dose_in_cycle: 1 }), 'Before first dose');
  assert.equal(f.scheduleText({ status: 'due', cycle: 1, day: 0, dose_in_cycle: 1, max_doses_per_cycle: 14, first_dose_at: null }), 'C1 · dose 1/14');
  assert.equal(f.scheduleText(null), null);
});

test('format: decisions and grades always carry words', () => {
  assert.equal(f.decisionInfo('give').text, 'GIVE');
  assert.equal(f.decisionInfo('hold').text, 'HOLD');
  assert.equal(f.decisionInfo('discontinue').text, 'DISCONTINUE');
  assert.equal(f.decisionInfo('insufficient_data').text, 'NO DATA');
  assert.equal(f.decisionInfo(null).text, 'NOT EVALUATED');
  assert.equal(f.decisionInfo('something_new').text, 'NOT EVALUATED');
  for (const a of ['give', 'hold', 'discontinue', 'insufficient_data', null]) assert.ok(f.decisionInfo(a).icon);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((g) => f.gradeInfo(g).word), ['none', 'mild', 'moderate', 'severe', 'life-threatening', 'death']);
  assert.equal(f.gradeInfo(null).word, 'not evaluated');
  assert.equal(f.gradeInfo(null).num, '–');
  assert.equal(f.gradeInfo(3).cls, 'grade-3');
});

test('format: the ward decision as a string or as the toxicity object', () => {
  assert.deepEqual(f.normDecision('hold'), { action: 'hold', reasons: [], top: null });
  assert.deepEqual(f.normDecision(null), { action: null, reasons: [], top: null });
  const d = f.normDecision({ action: 'hold', reasons: [{ rule: 'r', text: 'SBP < 90' }, { text: 'x' }] });
  assert.equal(d.top, 'SBP < 90');
  f.setCodeLabels(cat.parseCatalogue(fx.catalogue()).codes); // labels come from the server's catalogue
  assert.equal(f.normDecision({ action: 'insufficient_data', reasons: [], missing: ['hr', 'spo2'] }).top,
    'No recent Heart rate, Oxygen saturation (pulse oximetry)');
  // GET /ward's bed decision: {"action", "reason"}.
  assert.equal(f.normDecision({ action: 'hold', reason: 'T' }).top, 'T');
  // The top reason asks for the decision's own action (as the server picks it).
  const mixed = f.normDecision({ action: 'discontinue', reasons: [
    { action: 'hold', text: 'hold first' }, { action: 'discontinue', text: 'stop' }] });
  assert.equal(mixed.top, 'stop');
  // No field the server does not send is read.
  assert.equal(f.normDecision({ action: 'hold', top_reason: { text: 'T' } }).top, null);
});

test('format: severity sort (discontinue, hold, no data, give, not evaluated; empty beds last)', () => {
  const beds = [
    { bed: 'B10', patient: null },
    { bed: 'B2', patient: { id: 2 }, decision: 'give', max_grade: 1 },
    { bed: 'B3', patient: { id: 3 }, decision: { action: 'hold' }, max_grade: 2, active_alerts: 1 },
    { bed: 'B4', patient: { id: 4 }, decision: 'discontinue', max_grade: 4 },
    { bed: 'B5', patient: { id: 5 }, decision: null, max_grade: null },
    { bed: 'B6', patient: { id: 6 }, decision: 'hold', max_grade: 3 },
    { bed: 'B7', patient: { id: 7 }, decision: 'insufficient_data', max_grade: 0 },
    { bed: 'B1', patient: null },
  ];
  assert.deepEqual([...beds].sort(f.compareBySeverity).map((b) => b.bed), ['B4', 'B6', 'B3', 'B7', 'B2', 'B5', 'B1', 'B10']);
  assert.deepEqual(['B10', 'B2', 'B1'].sort(f.compareBedIds), ['B1', 'B2', 'B10']);
});

test('format: alerts by priority, then oldest first', () => {
  const a = [
    { id: 1, priority: 'low', raised_at: '2026-11-27T10:00:00Z' },
    { id: 2, priority: 'high', raised_at: '2026-11-27T12:00:00Z' },
    { id: 3, priority: 'high', raised_at: '2026-11-27T11:00:00Z' },
    { id: 4, priority: 'medium', raised_at: '2026-11-27T09:00:00Z' },
  ];
  assert.deepEqual(a.sort(f.compareAlerts).map((x) => x.id), [3, 2, 4, 1]);
});

test('format: urine rate is volume over the hours since the previous reading', () => {
  const r = f.urineRates([
    { time: '2026-11-27T10:00:00Z', value: 50 },
    { time: '2026-11-27T12:00:00Z', value: 120 },
    { time: '2026-11-27T12:30:00Z', value: 40 },
  ]);
  assert.deepEqual(r.map((x) => x.rate), [60, 80]);
  assert.deepEqual(f.urineRates([{ time: '2026-11-27T10:00:00Z', value: 50 }]), []);
});

test('format: rule thresholds become chart bands, resume conditions do not', () => {
  const bands = f.ruleBands({ name: 'x', rules: [
    { id: 'A', action: 'hold', class: 'relative', when: { all: [{ latest: 'hr', ge: 100, le: 130 }, { flag: 'infection' }] } },
    { id: 'B', action: 'hold', when: { latest: 'sbp', lt: 90 }, resume: { when: { latest: 'sbp', ge: 95 } } },
    { id: 'C', action: 'discontinue', when: { any: [{ ref: 'mental' }, { latest: 'spo2', lt: 85 }] } },
    { id: 'D', action: 'hold', when: { sum: 'urine', hours: 8, lt: 80 } },
  ] });
  assert.deepEqual(bands.map((b) => [b.code, b.lo, b.hi, b.rule, b.action, b.range]), [
    ['hr', 100, 130, 'A', 'hold', '≥ 100 and ≤ 130'], ['sbp', null, 90, 'B', 'hold', '< 90'],
    ['spo2', null, 85, 'C', 'discontinue', '< 85']]);
  assert.deepEqual(f.ruleBands(null), []);
  assert.deepEqual(f.ruleBands({ terms: [] }), []);
});

test('format: values and units for people', () => {
  assert.equal(f.fmtValue('temp', 38.25), '38.3');
  assert.equal(f.fmtValue('hr', 117.6), '118');
  assert.equal(f.fmtValue('rhythm', 'af'), 'af');
  assert.equal(f.fmtValue('intubated', true), 'yes');
  assert.equal(f.fmtValue('hr', null), '—');
  assert.equal(f.unitWord('Cel'), '°C');
  assert.equal(f.unitWord('mm[Hg]'), 'mmHg');
  assert.equal(f.codeLabel('ctcae.confusion'), 'CTCAE confusion');
});

test('sse: events across chunk boundaries, CRLF, comments, multi-line data', () => {
  const p = new SSEParser();
  const text = '\uFEFF: hello\r\nretry: 2500\r\nid: 7\r\nevent: reading\r\ndata: {"a":\r\ndata: 1}\r\n\r\n' +
    'data: plain\n\nid: 8\nevent: alert\ndata: x\n\n';
  const out = [];
  for (let i = 0; i < text.length; i += 3) out.push(...p.feed(text.slice(i, i + 3)));
  assert.deepEqual(out, [
    { type: 'reading', data: '{"a":\n1}', id: '7' },
    { type: 'message', data: 'plain', id: '7' },
    { type: 'alert', data: 'x', id: '8' },
  ]);
  assert.equal(p.retry, 2500);
  assert.equal(p.lastEventId, '8');
  assert.equal(p.sawComment, true);
});

test('sse: an incomplete event is not dispatched and does not move Last-Event-ID', () => {
  const p = new SSEParser();
  assert.deepEqual(p.feed('id: 1\ndata: a\n\nid: 2\ndata: b\n'), [{ type: 'message', data: 'a', id: '1' }]);
  assert.equal(p.lastEventId, '1');
  assert.deepEqual(p.feed('\n'), [{ type: 'message', data: 'b', id: '2' }]);
  assert.equal(p.lastEventId, '2');
  // A CR split from its LF is one line end, not two.
  const q = new SSEParser();
  assert.deepEqual([...q.feed('data: z\r'), ...q.feed('\n\r\n')], [{ type: 'message', data: 'z', id: null }]);
  // "data" with no colon is an empty data line; unknown fields are ignored.
  const r = new SSEParser();
  assert.deepEqual(r.feed('foo: bar\ndata\n\n'), [{ type: 'message', data: '', id: null }]);
});

// A fetch stub answering `status` with an API error body; counts calls.
function stubFetch(status, message) {
  const calls = [];
  globalThis.fetch = async (path) => {
    calls.push(path);
    const body = status < 400 ? '{"ok":true}' : JSON.stringify({ error: { code: 'x', message } });
    return new Response(body, { status, headers: { 'Content-Type': 'application/json' } });
  };
  return calls;
}

test('api: optional() treats a 503 as a transient failure: not absent, not remembered', async () => {
  const saved = globalThis.fetch;
  try {
    const calls = stubFetch(503, 'The database is unavailable; nothing was written. Retry later.');
    const r = await api.optional('t503', '/api/v1/x');
    assert.equal(r.ok, false);
    assert.equal(r.absent, false, 'a 503 does not mean the server lacks the endpoint');
    assert.equal(r.status, 503);
    assert.match(r.error.message, /unavailable/);
    await api.optional('t503', '/api/v1/x');
    assert.equal(calls.length, 2, 'the next call asks the server again');
    stubFetch(200);
    assert.deepEqual(await api.optional('t503', '/api/v1/x'), { ok: true, data: { ok: true } });
    for (const status of [500, 502]) {
      stubFetch(status, 'boom');
      assert.equal((await api.optional(`t${status}`, '/api/v1/x')).absent, false, `${status} is not absence`);
    }
  } finally { globalThis.fetch = saved; }
});

test('api: optional() remembers only the router\'s "No such path." 404 (and 501) as absence', async () => {
  const saved = globalThis.fetch;
  try {
    let calls = stubFetch(404, 'No such patient.');
    assert.equal((await api.optional('t404a', '/api/v1/patients/9/toxicity')).absent, false, 'an unknown resource is not a missing endpoint');
    await api.optional('t404a', '/api/v1/patients/9/toxicity');
    assert.equal(calls.length, 2);
    calls = stubFetch(404, 'No such path.');
    const r = await api.optional('t404b', '/api/v1/nothing');
    assert.equal(r.absent, true);
    assert.equal((await api.optional('t404b', '/api/v1/nothing')).absent, true);
    assert.equal(calls.length, 1, 'an absent endpoint is not asked again within the minute');
    stubFetch(501, 'Not implemented.');
    assert.equal((await api.optional('t501', '/api/v1/y')).absent, true);
  } finally { globalThis.fetch = saved; }
});

test('catalogue: the documented shape is read into codes, keys and the rule set\'s terms', () => {
  const doc = fx.catalogue();
  const c = cat.parseCatalogue(doc);
  assert.equal(c.codes.get('hr').label, 'Heart rate');
  assert.equal(c.codes.get('hr').unit, '/min');
  assert.equal(c.codes.get('hr').loinc, '8867-4');
  assert.equal(c.codes.get('rhythm').unit, null);
  assert.deepEqual(cat.codesOfKind(c, 'numeric').map((x) => x.code), ['hr', 'spo2', 'temp', 'creatinine', 'vt_beats']);
  assert.deepEqual(cat.codesOfKind(c, 'flag').map((x) => x.code), ['intubated']);
  assert.deepEqual(c.baselineKeys.map((k) => k.key), ['weight_kg', 'creatinine_mg_dl', 'stools_per_day']);
  assert.deepEqual(c.limitKeys[1], { key: 'ph_lln', label: 'pH LLN', unit: '[pH]', min: 6.8, max: 7.8 });
  assert.equal(c.ctcaeTerms.length, doc.ctcae_terms.length);
  assert.ok(c.ctcaeTerms.length >= 28, 'the default rule file grades at least 28 terms');
});

test('catalogue: a body not in the documented shape is refused, naming the problem', () => {
  const broken = (edit) => { const d = fx.catalogue(); edit(d); return () => cat.parseCatalogue(d); };
  assert.throws(broken((d) => { delete d.codes; }), /"codes" is not a list/);
  assert.throws(broken((d) => { delete d.codes[0].label; }), /codes\[0\] needs code, label and kind/);
  assert.throws(broken((d) => { d.baseline_keys[0].min = 500; }), /baseline_keys\[0\]/);
  assert.throws(broken((d) => { d.limit_keys = {}; }), /"limit_keys" is not a list/);
  assert.throws(broken((d) => { d.ctcae_terms[2] = { term: 'x' }; }), /ctcae_terms\[2\] needs term and label/);
  assert.throws(() => cat.parseCatalogue(null), /not an object/);
});

test('catalogue: fetched once, a failure is not remembered, labels reach codeLabel()', async () => {
  cat.resetCatalogue();
  const asked = [];
  let fail = true;
  const fetchJson = async (path) => {
    asked.push(path);
    if (fail) throw new api.ApiError(503, { error: { code: 'storage_unavailable', message: 'The database is unavailable.' } });
    return fx.catalogue();
  };
  await assert.rejects(cat.loadCatalogue(fetchJson), /unavailable/);
  fail = false;
  const [a, b] = await Promise.all([cat.loadCatalogue(fetchJson), cat.loadCatalogue(fetchJson)]);
  assert.equal(a, b);
  assert.deepEqual(asked, ['/api/v1/catalogue', '/api/v1/catalogue'], 'one failed request, then one shared request');
  await cat.loadCatalogue(fetchJson);
  assert.equal(asked.length, 2, 'not fetched again once loaded');
  assert.equal(f.codeLabel('spo2'), 'Oxygen saturation (pulse oximetry)');
  assert.equal(f.codeLabel('ctcae.fever'), 'Fever (CTCAE grade)');
  assert.equal(f.codeLabel('not_listed'), 'not listed', 'a code the catalogue lacks shows as itself');
  cat.resetCatalogue();
});

test('observation form: the gradable CTCAE terms are the rule set\'s, sorted by label', () => {
  const c = cat.parseCatalogue(fx.catalogue());
  const opts = termOptions(c, null);
  assert.deepEqual(opts.map(([t]) => t).sort(), c.ctcaeTerms.map((t) => t.term).sort());
  assert.deepEqual(opts.map(([, l]) => l), [...opts.map(([, l]) => l)].sort((x, y) => x.localeCompare(y)));
  // The toxicity response's labels (the rule set in force now) win, and a
  // term only it knows (a newer rule set) is offered too.
  const tox = { terms: [{ term: 'fever', label: 'Fever (now)' }, { term: 'new_term', label: 'New term' }] };
  const withTox = new Map(termOptions(c, tox));
  assert.equal(withTox.get('fever'), 'Fever (now)');
  assert.equal(withTox.get('new_term'), 'New term');
});

test('live: a 503 from the event stream is retried with backoff, a 404 means no stream', async () => {
  const saved = globalThis.fetch;
  const states = async (status) => {
    stubFetch(status, status === 404 ? 'No such path.' : 'The server is shutting down.');
    const live = new Live();
    live.pollMs = 0; // no fallback timer in this test
    live.stopped = false;
    await live.connect();
    const state = live.state;
    live.stop();
    return state;
  };
  try {
    assert.equal(await states(503), 'reconnecting', 'a transient failure: reconnect, not "no live stream"');
    assert.equal(await states(500), 'reconnecting');
    assert.equal(await states(404), 'unavailable');
  } finally { globalThis.fetch = saved; }
});

test('ward times are shown in the ward zone, across its daylight-saving changes', async () => {
  const { setWardZone } = await import('../../web/js/wardtime.js');
  setWardZone('America/New_York');
  // 8 March 2026: 00:00 EST and 08:00 EDT are 7 h apart; 04:30 UTC is still 7 March
  assert.equal(f.fmtDateTime('2026-03-08T05:00:00Z'), '8 Mar 2026 00:00');
  assert.equal(f.fmtDateTime('2026-03-08T12:00:00Z'), '8 Mar 2026 08:00');
  assert.equal(f.fmtDateTime('2026-03-08T04:30:00Z'), '7 Mar 2026 23:30');
  assert.equal(f.fmtTime('2026-11-01T05:30:00Z', new Date('2026-11-01T12:00:00Z')), '01:30');
  setWardZone('Europe/Amsterdam');
  assert.equal(f.fmtDateTime('2026-10-25T07:00:00Z'), '25 Oct 2026 08:00');
  assert.equal(f.fmtDateTime('2026-03-28T23:30:00Z'), '29 Mar 2026 00:30');
  setWardZone('Asia/Kolkata');
  assert.equal(f.fmtDateTime('2026-07-01T02:30:00Z'), '1 Jul 2026 08:00');
});

test('schedule text names a later course and a course that may not start', () => {
  assert.equal(f.scheduleText({ status: 'due', cycle: 2, day: 16, course: 2, dose_in_cycle: 3, max_doses_per_cycle: 14 }),
    'C2 of course 2 D16 · dose 3/14');
  assert.equal(f.scheduleText({ status: 'due', cycle: 1, day: 1, course: 1, dose_in_cycle: 1, max_doses_per_cycle: 14 }),
    'C1 D1 · dose 1/14');
  assert.equal(f.scheduleText({ status: 'not_scheduled', cycle: 1, course: 2 }), 'Course 2: not scheduled');
});

// ---- alarm.js: the sounds against IEC 60601-1-8:2006+A1:2012 (Table 3 the
// burst, Table 4 the pulse; the ranges as docs/dashboard.md "Alarms" states them).
test('alarm patterns: pulse counts, durations, spacings and repeat within the standard\'s ranges', () => {
  const { high, medium, low } = alarm.PATTERNS;
  const within = (v, lo, hi, what) => assert.ok(v >= lo && v <= hi, `${what} = ${v}, not in [${lo}, ${hi}]`);
  // high: 10 pulses as two halves of 3 + 2 (x-x-x--x-x)
  assert.equal(high.onsets.length, 10);
  within(high.pulseMs, 75, 200, 'high td');
  const hs = alarm.spacings(high);
  for (const i of [0, 1, 3, 5, 6, 8]) within(hs[i], 50, 125, `high ts ${i + 1}-${i + 2}`);
  // the 3rd-4th and 8th-9th gaps are 2 ts + td; the halves 0.35-1.30 s apart
  assert.equal(hs[2], 2 * hs[0] + high.pulseMs);
  assert.equal(hs[7], 2 * hs[5] + high.pulseMs);
  within(hs[4], 350, 1300, 'high 5th-6th spacing');
  within(high.pauseMs, 2500, 15000, 'high interburst');
  // medium: 3 pulses
  assert.equal(medium.onsets.length, 3);
  within(medium.pulseMs, 125, 250, 'medium td');
  for (const s of alarm.spacings(medium)) within(s, 125, 250, 'medium ts');
  within(medium.pauseMs, 2500, 30000, 'medium interburst');
  // low: 1 or 2 pulses, repeated after more than 15 s
  within(low.onsets.length, 1, 2, 'low pulses');
  within(low.pulseMs, 125, 250, 'low td');
  for (const s of alarm.spacings(low)) within(s, 125, 250, 'low ts');
  assert.ok(low.pauseMs > 15000);
  // pitch: 150-1000 Hz, higher priority higher; a waveform with harmonics
  for (const p of [high, medium, low]) { within(p.frequency, 150, 1000, 'f0'); assert.notEqual(p.wave, 'sine'); }
  assert.ok(high.frequency > medium.frequency && medium.frequency > low.frequency);
  assert.ok(alarm.periodMs(high) < alarm.periodMs(medium) && alarm.periodMs(medium) < alarm.periodMs(low));
  within(alarm.EDGE_FRACTION, 0.1, 0.2, 'rise/fall fraction of td');
});

test('alarm: the highest active priority sounds; acknowledged and resolved alerts do not', () => {
  assert.equal(alarm.soundingPriority([]), null);
  assert.equal(alarm.soundingPriority([{ state: 'acknowledged', priority: 'high' }, { state: 'resolved', priority: 'high' }]), null);
  assert.equal(alarm.soundingPriority([{ state: 'active', priority: 'low' }, { state: 'active', priority: 'medium' }]), 'medium');
  assert.equal(alarm.soundingPriority([{ state: 'active', priority: 'medium' }, { state: 'active', priority: 'high' }, { state: 'acknowledged', priority: 'high' }]), 'high');
});

// A fake AudioContext that records what the player builds.
function fakeAudio(state = 'running') {
  const log = { starts: [], stops: 0 };
  const param = () => ({ value: 0, setValueAtTime() {}, linearRampToValueAtTime() {} });
  const ctx = {
    state, currentTime: 10, destination: {},
    resume() { this.state = 'running'; return Promise.resolve(); },
    createGain() { return { gain: param(), connect(x) { return x; } }; },
    createOscillator() {
      const o = { type: 'sine', frequency: param(), connect(x) { return x; },
                  start(t) { log.starts.push({ f: o.frequency.value, type: o.type, t }); }, stop() { log.stops++; } };
      return o;
    },
  };
  return { ctx, log };
}

test('alarm player: a burst is one oscillator per pulse at the pattern\'s times; stop ends it; no sound before unlock', async () => {
  const { ctx, log } = fakeAudio('suspended');
  const p = new alarm.AlarmPlayer(() => ctx);
  p.probe();
  assert.equal(p.canSound, false);
  p.play('high');
  assert.equal(log.starts.length, 0, 'a suspended context plays nothing');
  await p.unlock();
  assert.equal(p.canSound, true);
  assert.equal(log.starts.length, 10, 'unlocking while an alert is active sounds it at once');
  const t0 = log.starts[0].t;
  assert.deepEqual(log.starts.map((s) => Math.round((s.t - t0) * 1000)), [...alarm.PATTERNS.high.onsets]);
  assert.ok(log.starts.every((s) => s.f === 880 && s.type === 'sawtooth'));
  p.play('high'); // the same priority keeps its rhythm: no second burst now
  assert.equal(log.starts.length, 10);
  p.stop();
  assert.ok(log.stops >= 10, 'stop() silences the pulses already scheduled');
  p.play('medium');
  assert.equal(log.starts.length, 13);
  assert.ok(log.starts.slice(10).every((s) => s.f === alarm.PATTERNS.medium.frequency));
  p.play(null);
  assert.equal(p.priority, null);
  assert.equal(p.timer, null);
});

// The messages exactly as server/store/diskwatch.c and server/hl7/pcd01.c write them.
const DISK_MSG = 'Low disk space for the database: 1.2 GiB free of 250.0 GiB on /var/lib/wardd, below the warning ' +
  'threshold of 25.0 GiB (disk-warn-percent 10, disk-warn-bytes 2147483648). Writes still succeed; free space or ' +
  'move the database before the disk fills.';
const MM_MSG = 'Feed GW message GW1-000002: PID-3 names MRN 400456 but bed B1 holds another patient; 1 readings held unassigned.';

test('technical alerts: plain words for disk_low and identity_mismatch, from the server\'s messages', () => {
  const disk = { id: 4, kind: 'disk_low', message: DISK_MSG, state: 'active', raised_at: '2026-12-07T10:00:00Z' };
  assert.deepEqual(tech.parseDiskMessage(DISK_MSG), { free: '1.2 GiB', size: '250 GiB', dir: '/var/lib/wardd', threshold: '25 GiB' });
  assert.equal(tech.techWords(disk).text, 'Disk nearly full: 1.2 GiB free of 250 GiB (warning below 25 GiB). Readings are ' +
    'still stored; ask IT to free space on the wardd server or enlarge its disk before it fills (a full disk stops new readings).');
  const mm = { id: 3, kind: 'identity_mismatch', bed: 'B1', message: MM_MSG, state: 'active' };
  assert.equal(tech.techWords(mm).text, 'Patient identity mismatch: monitor feed GW sent readings for MRN 400456 from bed B1, ' +
    'where another patient is admitted. The reading is on no patient\'s chart. Check the patient\'s wristband and which bed ' +
    'the monitor is set to (message GW1-000002).');
  const empty = { ...mm, message: MM_MSG.replace('another patient; 1 readings', 'nobody; 3 readings') };
  assert.match(tech.techWords(empty).text, /from bed B1, which is empty, while that patient is admitted elsewhere\. The 3 readings are on no patient's chart\./);
  // Resolved: the problem without the advice.
  assert.equal(tech.techWords({ ...disk, state: 'resolved' }).text, 'Disk nearly full: 1.2 GiB free of 250 GiB (warning below 25 GiB).');
  // A message of another shape: still a sentence, never the engineer's text half-parsed.
  assert.match(tech.techWords({ ...disk, message: 'disk low' }).text, /^Disk nearly full: the database's disk has less free space than its warning threshold\. Readings are still stored/);
  assert.match(tech.techWords({ ...mm, message: 'x' }).text, /^Patient identity mismatch: a monitor message from bed B1 names a different patient/);
  assert.equal(tech.techWords({ id: 9, kind: 'new_kind', message: 'Something new.', state: 'active' }).text, 'System problem: Something new.');
  // Technical alerts carry no priority: nothing sounds for them.
  assert.equal(alarm.soundingPriority([disk, mm]), null);
});

test('technical alerts: every kind the schema allows has its own words', () => {
  const dir = join(repo, 'schema/migrations');
  let kinds = null;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.sql')).sort()) {
    const sql = readFileSync(join(dir, f), 'utf8');
    for (const m of sql.matchAll(/CREATE TABLE technical_alerts\w*\s*\(([\s\S]*?)\)\s*STRICT/g)) {
      const c = /kind\s+TEXT[^,]*CHECK \(kind IN \(([^)]*)\)\)/.exec(m[1]);
      if (c) kinds = [...c[1].matchAll(/'([a-z_]+)'/g)].map((x) => x[1]);
    }
  }
  assert.ok(kinds && kinds.length >= 2, `the CHECK constraint's kinds: ${kinds}`);
  for (const kind of kinds) {
    assert.notEqual(tech.techWords({ id: 1, kind, message: 'm', state: 'active' }).title, 'System problem', `words for ${kind}`);
  }
});

test('technical alerts: active ones oldest first, the newest resolved ones', () => {
  const list = [
    { id: 5, state: 'resolved', raised_at: '2026-12-07T12:00:00Z' },
    { id: 4, state: 'active', raised_at: '2026-12-07T11:00:00Z' },
    { id: 3, state: 'resolved', raised_at: '2026-12-07T10:00:00Z' },
    { id: 2, state: 'active', raised_at: '2026-12-07T09:00:00Z' },
  ];
  assert.deepEqual(tech.activeTech(list).map((a) => a.id), [2, 4]);
  assert.deepEqual(tech.recentResolvedTech(list, 1).map((a) => a.id), [5]);
  assert.deepEqual(tech.recentResolvedTech(list).map((a) => a.id), [5, 3]);
  assert.deepEqual(tech.activeTech(null), []);
});
