#!/usr/bin/env node
// Schema-driven random requests against a real wardd.
//   node tests/api/fuzz-requests.mjs /abs/path/to/build/wardd [--seconds N] [--per-role N] [--seed S]
//
// Seeds a demo ward (`wardd demo`) in a temporary directory, serves it on
// 127.0.0.1 port 0, logs in as each role (viewer, nurse, physician, admin,
// with the demo passwords wardd-<role>-demo) and takes a demo device's
// token, then sends up to --per-role requests (default 2000) for each of
// anonymous, viewer, nurse, physician, admin and device, the six streams
// side by side, all within --seconds (default 40). Each request is made
// from docs/openapi.json: an operation picked at random, its path, query
// and body generated from the schemas, valid or broken on purpose (wrong
// types, out of range, missing and extra members, huge strings, unicode,
// malformed JSON, other content types). Every response must be:
//   - not a 5xx;
//   - documented for its operation: status, content type and body schema
//     (contract.mjs);
//   - for a 4xx, in the error shape {"error": {"code", "message", ...}}.
// The first failures are printed with the request that caused them, and
// the exit status is 1. The seed is printed, so a failing run repeats with
// --seed. The server is stopped with SIGTERM and must exit 0.
//
// Requests that would take the fuzzer's own credentials away are aimed at
// entities the run created itself: PATCH /users/{username}, DELETE
// /devices/{id} and rotate-token mostly name users and devices made in the
// set-up (else ids and names that do not exist), and DELETE /session is
// sent by the anonymous and device streams only (the integration suite
// covers a real log-out), so every stream keeps its role to the end.
// Password hashing (argon2id, ~0.1 s) is kept to a budget: log-ins and
// valid passwords are a small share of the requests.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, deref } from './contract.mjs';

// ---- options ----------------------------------------------------------------------
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const WARDD = argv[0];
const SECONDS = Number(opt('seconds', 40));
const PER_ROLE = Number(opt('per-role', 2000));
const SEED = Number(opt('seed', Date.now() % 1000000007));
const REQUEST_MS = 10000;
// --valid-only: no request is broken on purpose (for finding where the
// document's request schemas are looser than the server); --trace ROLE
// prints that stream's requests and statuses.
const VALID_ONLY = argv.includes('--valid-only');
const TRACE = opt('trace', '');
if (!WARDD || !path.isAbsolute(WARDD) || !existsSync(WARDD)) {
  console.error('usage: fuzz-requests.mjs /abs/path/to/wardd [--seconds N] [--per-role N] [--seed S]');
  process.exit(2);
}

// ---- a seeded random source (mulberry32), one per stream -------------------------
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
  return r;
}

const contract = new Contract();
const doc = contract.doc;
const schemaOf = (s) => deref(doc, s);

// ---- values ------------------------------------------------------------------------
const UNICODE = ['é', 'ß', '漢字', '🩺', '\u202e', '\u0000', '\u0007', '"', '\\', '\n', '\ud800', ' ', 'ǅ', '\uffff'];
const CODES = ['hr', 'rr', 'spo2', 'temp', 'sbp', 'dbp', 'map', 'weight', 'urine', 'creatinine', 'platelets',
  'phenylephrine', 'rhythm', 'consciousness', 'fobt', 'intubated', 'dialysis', 'ctcae.fever', 'ctcae.confusion',
  'nope', 'HR', ''];
const UNITS = ['/min', '%', 'Cel', '[degF]', 'kg', '[lb_av]', 'mm[Hg]', 'mg/dL', 'umol/L', 'ug/min', 'ug/kg/min', 'furlong'];

function isoTime(r, spreadMin = 600) {
  return new Date(Date.now() - r.int(-10, spreadMin) * 60000).toISOString();
}

function randText(r, min = 1, max = 12, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.') {
  const n = r.int(min, Math.max(min, max));
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[r.int(0, alphabet.length - 1)];
  return s;
}

// A string for a `^[class]{m,n}$` pattern, else null.
function fromPattern(r, pattern) {
  const m = /^\^\[([^\]]+)\]\{(\d+),(\d+)\}\$$/.exec(pattern || '');
  if (!m) return null;
  let chars = '';
  const cls = m[1];
  for (let i = 0; i < cls.length; i++) {
    if (cls[i + 1] === '-' && i + 2 < cls.length) {
      for (let c = cls.charCodeAt(i); c <= cls.charCodeAt(i + 2); c++) chars += String.fromCharCode(c);
      i += 2;
    } else if (cls[i] === '\\') {
      chars += cls[++i];
    } else {
      chars += cls[i];
    }
  }
  return randText(r, Number(m[2]), Math.min(Number(m[3]), 16), chars.trim() || chars);
}

// A value that fits `schema` (as far as the schema says), biased to the
// values wardd knows (codes, beds, ids) so that requests get past the
// first checks.
function gen(r, schema, ctx, depth = 0, key = '') {
  schema = schemaOf(schema) || {};
  if (schema.$ref) return gen(r, schemaOf(schema), ctx, depth, key);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return r.pick(schema.enum);
  if (schema.allOf) return gen(r, Object.assign({}, ...schema.allOf.map(schemaOf), { allOf: undefined }), ctx, depth, key);
  if (schema.anyOf || schema.oneOf) return gen(r, r.pick(schema.anyOf || schema.oneOf), ctx, depth, key);
  let type = schema.type;
  if (Array.isArray(type)) type = r.chance(0.15) && type.includes('null') ? 'null' : r.pick(type.filter((t) => t !== 'null'));
  if (key === 'code' && depth > 1) return r.pick(CODES);
  if (key === 'unit') return r.pick(UNITS);
  if (key === 'bed') return r.pick(ctx.beds);
  if (key === 'mrn' && r.chance(0.3)) return r.pick(ctx.mrns);
  if (schema.examples && r.chance(0.5)) return r.pick(schema.examples);
  switch (type) {
    case 'null': return null;
    case 'boolean': return r.chance(0.5);
    case 'integer': {
      const lo = schema.minimum ?? 0;
      const hi = schema.maximum ?? lo + 100;
      return r.int(lo, hi);
    }
    case 'number': {
      const lo = schema.minimum ?? 0;
      const hi = schema.maximum ?? lo + 200;
      return Math.round((lo + r.next() * (hi - lo)) * 100) / 100;
    }
    case 'string': {
      if (schema.format === 'date-time') return isoTime(r);
      if (schema.format === 'date') return `19${r.int(30, 99)}-0${r.int(1, 9)}-1${r.int(0, 9)}`;
      const p = fromPattern(r, schema.pattern);
      if (p) return p;
      return randText(r, schema.minLength ?? 1, Math.min(schema.maxLength ?? 12, 12));
    }
    case 'array': {
      const n = r.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4));
      return Array.from({ length: n }, () => gen(r, schema.items || {}, ctx, depth + 1, key));
    }
    case 'object':
    default: {
      const o = {};
      const props = schema.properties || {};
      const req = new Set(schema.required || []);
      for (const [k, s] of Object.entries(props)) {
        if (req.has(k) || r.chance(0.5)) o[k] = gen(r, s, ctx, depth + 1, k);
      }
      return o;
    }
  }
}

// A value of another kind than `v`.
function wrongType(r, v) {
  const kinds = [1, -1.5, 'x', true, null, [], {}, 1e300, -9007199254740993, '9'.repeat(40)];
  let w;
  do w = r.pick(kinds); while (typeof w === typeof v && w !== null && v !== null);
  return w;
}

function nastyString(r) {
  switch (r.int(0, 4)) {
    case 0: return 'x'.repeat(r.pick([65, 129, 257, 1025, 70000]));
    case 1: return Array.from({ length: r.int(1, 20) }, () => r.pick(UNICODE)).join('');
    case 2: return '';
    case 3: return '   ';
    default: return `${r.pick(UNICODE)}${randText(r)}`;
  }
}

// Breaks a valid body in one of many ways. Returns {text, type} (text is
// the raw body; type the Content-Type, or null for none).
function breakBody(r, body) {
  const json = (v) => ({ text: JSON.stringify(v), type: 'application/json' });
  const obj = body && typeof body === 'object' && !Array.isArray(body) ? structuredClone(body) : {};
  const keys = Object.keys(obj);
  switch (r.int(0, 13)) {
    case 0: if (keys.length) delete obj[r.pick(keys)]; return json(obj);
    case 1: obj[r.pick(['zz_extra', 'id', '__proto__', 'readings', ''])] = r.pick([1, 'x', null, {}]); return json(obj);
    case 2: if (keys.length) obj[r.pick(keys)] = wrongType(r, obj[keys[0]]); return json(obj);
    case 3: if (keys.length) obj[r.pick(keys)] = nastyString(r); return json(obj);
    case 4: return json(r.pick([[], 'text', 42, null, true, [obj]]));
    case 5: return { text: r.pick(['', '{', '{"a":', '{"a":1,"a":2}', 'nul', '{"a":1}x', '\u00ff\u00fe', '{"a":"\\ud800"}', '{"a":1e999}', '{"a":123456789012345678901234567890}']), type: 'application/json' };
    case 6: return { text: '['.repeat(r.int(30, 40)) + ']'.repeat(r.int(0, 40)), type: 'application/json' };
    case 7: return { text: JSON.stringify(obj), type: r.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', null, 'application/fhir+json']) };
    case 8: {
      // numbers out of any range, deep in the body
      const walk = (v) => {
        if (Array.isArray(v)) return v.map(walk);
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
        if (typeof v === 'number') return r.pick([-1, 0, 1e15, -1e15, 0.000001, 2 ** 63, 1.5]);
        return v;
      };
      return json(walk(obj));
    }
    case 9: {
      // every string nasty
      const walk = (v) => {
        if (Array.isArray(v)) return v.map(walk);
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
        if (typeof v === 'string') return nastyString(r);
        return v;
      };
      return json(walk(obj));
    }
    case 10: if (Array.isArray(obj.readings)) { obj.readings = Array.from({ length: r.pick([1001, 1500]) }, () => obj.readings[0] || {}); } return json(obj);
    case 11: return { text: `{"pad":"${'y'.repeat(r.pick([1024 * 1024, 1024 * 1024 + 10]))}"}`, type: 'application/json' };
    case 12: if (keys.length) obj[r.pick(keys)] = null; return json(obj);
    default: if (Array.isArray(obj.readings) && obj.readings.length) { obj.readings[0] = wrongType(r, obj.readings[0]); } return json(obj);
  }
}

// encodeURIComponent, with lone surrogates (which it refuses) as '?'.
function enc(s) {
  return encodeURIComponent(String(s).replace(/[\ud800-\udfff]/g, (c, i, all) => (/[\ud800-\udbff][\udc00-\udfff]/.test(all.slice(i, i + 2)) || /[\ud800-\udbff][\udc00-\udfff]/.test(all.slice(i - 1, i + 1)) ? c : '?')));
}

// A path parameter: usually a known id, sometimes anything.
function pathParam(r, name, p, ctx, template, method) {
  const schema = schemaOf(p.schema) || {};
  if (schema.type === 'integer') {
    let pool = ctx.ids[name] || [1];
    if (template.startsWith('/api/v1/devices/')) pool = ctx.fuzzDevices;
    if (template.startsWith('/api/v1/alerts/')) pool = ctx.alerts.length ? ctx.alerts : [1];
    if (template.startsWith('/api/v1/patients/')) pool = ctx.patients;
    if (VALID_ONLY || r.chance(0.8)) return String(r.pick(pool));
    return r.pick(['0', '-1', '+1', '1.5', 'abc', '99999999', '9223372036854775807', '92233720368547758070', '%00', 'x'.repeat(130), '%F0%9F%A9%BA', '1e3', ' 1']);
  }
  if (name === 'username') {
    if (method === 'patch') return VALID_ONLY || r.chance(0.8) ? r.pick(ctx.fuzzUsers) : enc(nastyString(r).slice(0, 200)) || 'x';
  }
  return enc(gen(r, schema, ctx));
}

function queryValue(r, schema, ctx) {
  if (VALID_ONLY || r.chance(0.7)) {
    const v = gen(r, schema, ctx);
    return String(v);
  }
  return r.pick(['', '-1', '0', '1001', '99999999999999999999', 'abc', '2026-13-40T00:00:00Z', '2026-01-01T00:00:00', '1.5',
    'hr,hr,hr,hr,hr,hr,hr,hr,hr,hr,hr,hr,hr,hr,hr,hr,hr', 'rhythm', ',', 'x'.repeat(600), '🩺', '%ff', '1.2.3']);
}

// One request: {method, path, headers, body, op}.
function makeRequest(r, role, ctx) {
  const { template, method, op } = pickOperation(r, role);
  const params = (op.parameters || []).map((p) => deref(doc, p));
  let p = template.replace(/\{([^}]+)\}/g, (_, name) => pathParam(r, name, params.find((x) => x.name === name && x.in === 'path') || {}, ctx, template, method));
  const q = [];
  for (const prm of params.filter((x) => x.in === 'query')) {
    if (r.chance(0.5)) q.push(`${enc(prm.name)}=${enc(queryValue(r, schemaOf(prm.schema), ctx))}`);
  }
  if (!VALID_ONLY && r.chance(0.05)) q.push(`${r.pick(['zz', 'limit', 'from'])}=${r.pick(['1', '', 'x'])}`);
  if (q.length) p += `?${q.join('&')}`;
  const headers = {};
  for (const prm of params.filter((x) => x.in === 'header')) {
    if (r.chance(0.5)) headers[prm.name] = String(queryValue(r, schemaOf(prm.schema), ctx)).replace(/[^\x20-\x7e]/g, '');
  }
  const token = ctx.tokens[role];
  if (token) headers.Authorization = `Bearer ${token}`;
  if (!VALID_ONLY && r.chance(0.02)) headers.Authorization = r.pick(['Bearer ', 'Bearer wdt_nope', 'Basic Zm9vOmJhcg==', `Bearer ${'x'.repeat(300)}`]);
  let body;
  const rb = op.requestBody && deref(doc, op.requestBody);
  if (rb) {
    const schema = rb.content['application/json'].schema;
    let value = gen(r, schema, ctx);
    value = fixUp(r, template, method, value, ctx);
    if (!VALID_ONLY && r.chance(0.45)) {
      const b = breakBody(r, value);
      body = b.text;
      if (b.type) headers['Content-Type'] = b.type;
    } else {
      body = JSON.stringify(value);
      headers['Content-Type'] = 'application/json';
    }
  } else if (!VALID_ONLY && method !== 'get' && r.chance(0.1)) {
    body = r.pick(['{}', 'junk']);
    headers['Content-Type'] = 'application/json';
  }
  // Now and then another method (405 unless the path has it). Never on
  // /api/v1/session: a DELETE there would end the stream's own session.
  const realMethod = !VALID_ONLY && template !== '/api/v1/session' && r.chance(0.03)
    ? r.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']) : method.toUpperCase();
  if (realMethod === 'HEAD' || realMethod === 'OPTIONS') body = undefined;
  return { method: realMethod, path: p, headers, body, opId: op.operationId };
}

// Valid-looking bodies that the server would refuse for reasons the schema
// cannot say, made plausible (a real bed, a known code).
function fixUp(r, template, method, v, ctx) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  if (template === '/api/v1/patients' && method === 'post' && r.chance(0.7)) v.bed = r.pick(ctx.beds);
  if (template === '/api/v1/users' && method === 'post') {
    // argon2 budget: most new users get a password that fails the checks first
    if (ctx.budget.hash-- <= 0 || r.chance(0.7)) v.password = r.pick(['short', '', 'x'.repeat(1100)]);
    v.username = `fz${randText(r, 4, 10, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
  }
  if (template === '/api/v1/users/{username}' && typeof v.password === 'string' && (ctx.budget.hash-- <= 0 || r.chance(0.7))) v.password = 'short';
  if (template === '/api/v1/users/{username}' && v.role === 'admin' && r.chance(0.5)) delete v.role;
  if (template === '/api/v1/rules' && method === 'put' && r.chance(0.3)) return structuredClone(ctx.ruleset);
  if (Array.isArray(v.readings)) {
    v.readings = v.readings.map((it) => {
      if (!it || typeof it !== 'object') return it;
      const code = it.code;
      if (r.chance(0.6)) {
        if (['rhythm'].includes(code)) it.value = r.pick(['sinus', 'af', 'vt', 'zz']);
        else if (['intubated', 'dialysis'].includes(code)) it.value = r.chance(0.5);
        else if (typeof it.value !== 'number') it.value = r.int(0, 200);
        if (r.chance(0.6)) delete it.unit;
      }
      if (!it.id || r.chance(0.3)) it.id = `fz-${randText(r, 6, 12)}`;
      return it;
    });
  }
  return v;
}

// Operations weighted: the ones that hash a password are rare.
function pickOperation(r, role) {
  for (;;) {
    const o = r.pick(contract.operations());
    const costly = (o.template === '/api/v1/session' && o.method !== 'get') || o.template.startsWith('/api/v1/users');
    if (costly && !r.chance(0.15)) continue;
    if (o.template === '/api/v1/session' && o.method === 'delete' && role !== 'anonymous' && role !== 'device') continue;
    return o;
  }
}

// ---- HTTP --------------------------------------------------------------------------
async function send(base, req) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_MS);
  const t0 = Date.now();
  try {
    const res = await fetch(base + req.path, { method: req.method, headers: req.headers, body: req.body, signal: ctl.signal, redirect: 'manual' });
    const ct = res.headers.get('content-type') || '';
    let body = '';
    if (ct.startsWith('text/event-stream')) {
      ctl.abort(); // an endless stream: the headers are what counts
    } else {
      body = await res.text();
    }
    return { status: res.status, content_type: ct, body, ms: Date.now() - t0, allow: res.headers.get('allow'), retryAfter: res.headers.get('retry-after'), wwwAuth: res.headers.get('www-authenticate') };
  } catch (e) {
    return { status: 0, error: String(e && e.cause ? e.cause.message || e.cause : e), ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

// ---- the server --------------------------------------------------------------------
async function startServer(dir) {
  execFileSync(WARDD, ['demo', '--db', `${dir}/ward.db`, '--out', `${dir}/devices.json`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const child = spawn(WARDD, ['serve', '--db', `${dir}/ward.db`, '--listen', '127.0.0.1:0', '--port-file', `${dir}/port`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log = (log + d).slice(-20000); });
  const exited = new Promise((res) => child.on('exit', (code, sig) => res(sig ? 128 : code)));
  // Never leave the server behind: not when this process dies of an
  // exception, nor of a closed stdout (| head), nor of Ctrl-C.
  process.on('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  // Not SIGPIPE: a handler for it turns a write to a socket wardd closed
  // early (a 413 before the body was read) into this process's exit; left
  // ignored (Node's default), the write fails with EPIPE and send() reports it.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));
  process.stdout.on('error', () => process.exit(1));
  process.stderr.on('error', () => process.exit(1));
  for (let i = 0; i < 200 && !existsSync(`${dir}/port`); i++) await new Promise((res) => setTimeout(res, 50));
  const port = existsSync(`${dir}/port`) ? readFileSync(`${dir}/port`, 'utf8').trim() : '';
  if (!port) throw new Error(`wardd did not start:\n${log}`);
  return { child, exited, base: `http://127.0.0.1:${port}`, log: () => log };
}

async function login(base, user, password) {
  const res = await send(base, { method: 'POST', path: '/api/v1/session', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: user, password }) });
  if (res.status !== 200) throw new Error(`log-in as ${user}: ${res.status} ${res.body}`);
  return JSON.parse(res.body).token;
}

async function setUp(base, dir) {
  const tokens = { anonymous: null };
  for (const role of ['viewer', 'nurse', 'physician', 'admin']) tokens[role] = await login(base, role, `wardd-${role}-demo`);
  const devices = JSON.parse(readFileSync(`${dir}/devices.json`, 'utf8'));
  tokens.device = devices[0].token;
  const get = async (p) => JSON.parse((await send(base, { method: 'GET', path: p, headers: { Authorization: `Bearer ${tokens.admin}` } })).body);
  const beds = (await get('/api/v1/beds')).beds.map((b) => b.id);
  const all = (await get('/api/v1/patients?status=all')).patients;
  const patients = all.map((p) => p.id);
  const mrns = all.map((p) => p.mrn);
  const alerts = (await get('/api/v1/alerts?state=all')).alerts.map((a) => a.id);
  const ruleset = (await get('/api/v1/rules')).ruleset;
  // Entities the destructive operations may have: never the fuzzer's own.
  const fuzzUsers = [];
  for (let i = 0; i < 3; i++) {
    const u = `fuzz.user${i}`;
    const res = await send(base, { method: 'POST', path: '/api/v1/users', headers: { Authorization: `Bearer ${tokens.admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ username: u, password: 'fuzz-password-1', role: i === 2 ? 'admin' : 'nurse' }) });
    if (res.status !== 201) throw new Error(`set-up: POST /api/v1/users ${res.status} ${res.body}`);
    fuzzUsers.push(u);
  }
  const fuzzDevices = [];
  for (let i = 0; i < 4; i++) {
    const res = await send(base, { method: 'POST', path: '/api/v1/devices', headers: { Authorization: `Bearer ${tokens.admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ serial: `FUZZ-${i}` }) });
    if (res.status !== 201) throw new Error(`set-up: POST /api/v1/devices ${res.status} ${res.body}`);
    fuzzDevices.push(JSON.parse(res.body).id);
  }
  fuzzDevices.push(999999);
  return { tokens, beds: [...beds, 'B99', 'Z'], patients: [...patients, 999999], mrns, alerts, ruleset, fuzzUsers, fuzzDevices, ids: {}, budget: { hash: 12 } };
}

// ---- the run -----------------------------------------------------------------------
async function stream(role, base, ctx, deadline, out) {
  const r = rng(SEED + role.length * 7919 + role.charCodeAt(0));
  for (let i = 0; i < PER_ROLE && Date.now() < deadline; i++) {
    const req = makeRequest(r, role, ctx);
    const res = await send(base, req);
    out.sent++;
    const label = res.status === 0 ? 'early-close' : res.status;
    out.byStatus[label] = (out.byStatus[label] || 0) + 1;
    if (TRACE === role) console.error(`TRACE ${res.status} ${show(req).slice(0, 300)} => ${String(res.body).slice(0, 300)}`);
    learn(req, res, ctx);
    const problem = judge(req, res);
    if (problem) {
      const key = `${req.opId} ${res.status}: ${problem.key}`;
      if (!out.failures.has(key)) out.failures.set(key, { role, req, res, why: problem.text, n: 0 });
      out.failures.get(key).n++;
    }
    // A logged-out anonymous/device stream has nothing to lose; a staff
    // stream never sends DELETE /session (pickOperation).
  }
}

// A body the server need not read: it may answer early (401, 403, 413)
// and close while the client still sends, which fetch reports as a write
// error rather than the answer (curl reads the answer; RFC 9112 9.6 lets a
// server close after an early response).
const EARLY_CLOSE_BYTES = 256 * 1024;
// The log-in route refuses bodies over 4 KiB the same way (docs/api.md
// "Sessions", docs/security.md).
const LOGIN_EARLY_CLOSE_BYTES = 4 * 1024;

// What a success created joins the pools, so later requests reach deeper
// (a new bed gets a patient, a new patient readings and doses).
function learn(req, res, ctx) {
  if (res.status !== 201 || !res.body) return;
  let b;
  try { b = JSON.parse(res.body); } catch { return; }
  const p = req.path.split('?')[0];
  if (p === '/api/v1/beds' && typeof b.id === 'string') ctx.beds.push(b.id);
  if (p === '/api/v1/patients' && Number.isInteger(b.id)) ctx.patients.push(b.id);
  if (p === '/api/v1/devices' && Number.isInteger(b.id)) ctx.fuzzDevices.push(b.id);
}

function judge(req, res) {
  const early = req.method === 'POST' && req.path.split('?')[0] === '/api/v1/session' ? LOGIN_EARLY_CLOSE_BYTES : EARLY_CLOSE_BYTES;
  if (res.status === 0 && req.body && req.body.length > early && /EPIPE|ECONNRESET|other side closed/.test(res.error)) {
    return null;
  }
  if (res.status === 0) return { key: 'no response', text: `no response: ${res.error}` };
  if (res.status >= 500) return { key: `5xx ${res.status}`, text: `a ${res.status} response` };
  const c = contract.check({ method: req.method === 'OPTIONS' ? 'OPTIONS' : req.method, path: req.path, status: res.status, content_type: res.content_type, body: res.body });
  if (c) return c;
  if (res.status >= 400 && req.method !== 'HEAD') {
    let e;
    try { e = JSON.parse(res.body).error; } catch { e = null; }
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || !e.message) return { key: 'error shape', text: 'a 4xx outside the error shape' };
  }
  if (res.status === 401 && !res.wwwAuth) return { key: '401 without WWW-Authenticate', text: '401 without a WWW-Authenticate header' };
  if (res.status === 405 && !res.allow) return { key: '405 without Allow', text: '405 without an Allow header' };
  if ((res.status === 429 || res.status === 503) && !res.retryAfter) return { key: 'no Retry-After', text: `${res.status} without Retry-After` };
  return null;
}

function show(req) {
  const b = req.body === undefined ? '' : ` body(${req.headers['Content-Type'] || 'no type'}): ${req.body.length > 300 ? `${req.body.slice(0, 300)}... (${req.body.length} bytes)` : req.body}`;
  return `${req.method} ${req.path.length > 200 ? `${req.path.slice(0, 200)}...` : req.path}${b}`;
}

const dir = mkdtempSync(path.join(tmpdir(), 'wardd-fuzz-'));
let server;
let status = 1;
try {
  const t0 = Date.now();
  server = await startServer(dir);
  const ctx = await setUp(server.base, dir);
  const deadline = t0 + SECONDS * 1000;
  const roles = ['anonymous', 'viewer', 'nurse', 'physician', 'admin', 'device'];
  const out = { sent: 0, byStatus: {}, failures: new Map() };
  const per = {};
  await Promise.all(roles.map(async (role) => {
    const mine = { sent: 0, byStatus: {}, failures: out.failures };
    await stream(role, server.base, ctx, deadline, mine);
    per[role] = `${mine.sent} (${Object.entries(mine.byStatus).map(([k, n]) => `${k}:${n}`).join(' ')})`;
    out.sent += mine.sent;
    for (const [k, n] of Object.entries(mine.byStatus)) out.byStatus[k] = (out.byStatus[k] || 0) + n;
  }));
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(`api-fuzz: seed ${SEED}: ${out.sent} requests in ${secs} s`);
  for (const role of roles) console.log(`api-fuzz:   ${role.padEnd(9)} ${per[role]}`);
  console.log(`api-fuzz: statuses ${Object.entries(out.byStatus).map(([k, n]) => `${k}:${n}`).join(' ')}`);
  if (out.byStatus['early-close']) {
    console.log('api-fuzz: (early-close: the server answered a body over 256 KiB early and closed while it was still being sent; fetch reports that as a write error)');
  }
  for (const f of [...out.failures.values()].slice(0, 25)) {
    console.error(`  FAIL [${f.role}] ${f.why}${f.n > 1 ? `  (x${f.n})` : ''}\n      request: ${show(f.req)}`);
  }
  status = out.failures.size ? 1 : 0;
  if (out.failures.size) console.error(`api-fuzz: ${out.failures.size} distinct failures (seed ${SEED}; repeat with --seed ${SEED})`);
} catch (e) {
  console.error(`api-fuzz: ${e.stack || e}`);
  status = 1;
} finally {
  if (server) {
    server.child.kill('SIGTERM');
    const code = await Promise.race([server.exited, new Promise((res) => setTimeout(() => res('timeout'), 30000))]);
    if (code !== 0) {
      console.error(`api-fuzz: wardd exited with ${code} after SIGTERM; its log:\n${server.log().slice(-3000)}`);
      if (code === 'timeout') server.child.kill('SIGKILL');
      status = 1;
    } else if (status && server.log()) {
      console.error(`api-fuzz: wardd's log (tail):\n${server.log().slice(-2000)}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
