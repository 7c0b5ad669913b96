// The contract as code: loads docs/openapi.json and checks one HTTP
// response (method, path with query, status, content type, body) against
// it. Shared by validate-responses.mjs (the suites' logged responses) and
// fuzz-requests.mjs (the random requests).
//
// What "documented" means (docs/openapi.json, info.description):
//   - the path matches a path template (a `{name}` matches one segment;
//     templates with more literal segments win);
//   - the method is an operation of it (HEAD counts as GET, no body checked),
//     else the response must be 405 `method_not_allowed`
//     (components/responses/MethodNotAllowed);
//   - the status is one of the operation's responses, and the body fits the
//     response's schema for its content type (JSON Schema 2020-12, ajv);
//     other content types (text/event-stream, text/plain) are checked by
//     type only;
//   - a path under /api that matches no template is 404 `not_found` (so is a
//     path segment longer than the router's 127 bytes).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DOC_PATH = path.resolve(here, '../../docs/openapi.json');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
// server/http/http.h REQ_PARAM_LEN - 1: longer segments never match a route.
const SEGMENT_MAX = 127;

// A JSON pointer ("#/components/responses/X") into doc.
function pointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(2).split('/').reduce((o, k) => {
    const key = k.replace(/~1/g, '/').replace(/~0/g, '~');
    if (o === undefined || !(key in o)) throw new Error(`dangling $ref ${ref}`);
    return o[key];
  }, doc);
}

// An OpenAPI object that may be a $ref (response, parameter, request body).
export function deref(doc, o) {
  while (o && typeof o === 'object' && typeof o.$ref === 'string') o = pointer(doc, o.$ref);
  return o;
}

// The schema with its document-local refs pointed at the registered
// components ("#/components/schemas/X" -> "oa#/components/schemas/X").
function rebase(schema) {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (!schema || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `oa${v}` : rebase(v);
  }
  return out;
}

function mediaType(ct) {
  return String(ct || '').split(';')[0].trim().toLowerCase();
}

function segments(p) {
  return p.split('/').slice(1);
}

export class Contract {
  constructor(docPath = DOC_PATH) {
    this.doc = JSON.parse(readFileSync(docPath, 'utf8'));
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'oa', components: { schemas: rebase(this.doc.components.schemas) } });
    this.validators = new Map();
    // Templates, most literal segments first.
    this.templates = Object.keys(this.doc.paths).map((t) => ({
      template: t,
      segs: segments(t),
      literal: segments(t).filter((s) => !s.startsWith('{')).length,
    })).sort((a, b) => b.literal - a.literal);
  }

  schemaValidator(schema) {
    const key = JSON.stringify(schema);
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile(rebase(schema));
      this.validators.set(key, v);
    }
    return v;
  }

  // {template, item} for a concrete path (no query), or null.
  match(p) {
    const segs = segments(p);
    for (const t of this.templates) {
      if (t.segs.length !== segs.length) continue;
      if (t.segs.every((s, i) => (s.startsWith('{') ? segs[i].length > 0 : s === segs[i]))) {
        return { template: t.template, item: this.doc.paths[t.template] };
      }
    }
    return null;
  }

  // Every operation: [{template, method, op}].
  operations() {
    const out = [];
    for (const [template, item] of Object.entries(this.doc.paths)) {
      for (const m of METHODS) if (item[m]) out.push({ template, method: m, op: item[m] });
    }
    return out;
  }

  // The problem with one response ({key, text}), or null when the contract
  // allows it.
  // r: {method, path, status, content_type, body (string or null)}.
  check(r) {
    // As the server sees it: percent-decoded by libmicrohttpd, then a C
    // string (ends at a NUL), no dot-segment resolution.
    const p = decodePath(r.path.split('?')[0]).split('\u0000')[0];
    const head = r.method === 'HEAD';
    const method = (head ? 'GET' : r.method).toLowerCase();
    const m = this.match(p);
    const where = (id) => ({ key: `${id ? `${id} ` : `${r.method} `}-> ${r.status}`, text: `${r.method} ${r.path} -> ${r.status}${id ? ` (operation ${id})` : ''}` });
    const longSegment = segments(p).some((s) => Buffer.byteLength(s) > SEGMENT_MAX);

    if (!m || longSegment) {
      if (!p.startsWith('/api/') && !m) return null; // static files: not this contract's
      if (r.status !== 404) return problem(where(), 'the path is not in docs/openapi.json, yet the status is not 404');
      return this.checkBody(where(), this.doc.components.responses.NotFound, r, head);
    }
    const op = m.item[method];
    if (!op) {
      if (r.status !== 405) {
        return problem(where(), `${r.method} is not an operation of ${m.template} in docs/openapi.json (expected 405)`);
      }
      return this.checkBody(where(), this.doc.components.responses.MethodNotAllowed, r, head);
    }
    const resp = op.responses[String(r.status)] || op.responses[`${String(r.status)[0]}XX`] || op.responses.default;
    if (!resp) {
      return problem(where(op.operationId), `status ${r.status} is not documented for ${method.toUpperCase()} ${m.template} (documented: ${Object.keys(op.responses).join(', ')})`);
    }
    return this.checkBody(where(op.operationId), deref(this.doc, resp), r, head);
  }

  checkBody(where, resp, r, head) {
    const content = resp.content || {};
    const types = Object.keys(content);
    const mt = mediaType(r.content_type);
    if (types.length === 0) {
      return r.body ? problem(where, 'the response documents no body, but one was sent') : null;
    }
    if (!content[mt]) {
      if (head && !mt) return null;
      return problem(where, `Content-Type "${r.content_type}" is not one of the documented ${types.join(', ')}`);
    }
    if (head || mt !== 'application/json') return null; // type only (SSE, text/plain) or no body
    if (r.body === null || r.body === undefined) return problem(where, 'the body is not UTF-8 text');
    let body;
    try {
      body = JSON.parse(r.body);
    } catch (e) {
      return problem(where, `the body does not parse as JSON: ${e.message}`);
    }
    const schema = content[mt].schema;
    if (!schema) return null;
    const v = this.schemaValidator(schema);
    if (v(body)) return null;
    const errs = (v.errors || []).slice(0, 6)
      .map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}${e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
    const shown = r.body.length > 400 ? `${r.body.slice(0, 400)}...` : r.body;
    return problem(where, `the body does not fit the schema: ${errs.join('; ')}`, shown);
  }
}

// {key, text}: key groups the same failure (operation, status, what);
// text is one example of it.
function problem(where, what, body) {
  return { key: `${where.key}: ${what}`, text: `${where.text}: ${what}${body ? `\n      body: ${body}` : ''}` };
}

// Percent-decoding as libmicrohttpd does it: byte by byte, an invalid
// escape left as it is.
function decodePath(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(s[i]));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
