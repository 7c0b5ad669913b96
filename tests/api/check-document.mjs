#!/usr/bin/env node
// House rules of docs/openapi.json that the OpenAPI linter cannot know
// (make api-contract; docs/api.md, "The OpenAPI document"). For every
// operation:
//   - x-wardd-role is one of none, device, viewer, nurse, physician, admin,
//     and security matches it ([] public, deviceToken, or the session schemes);
//   - 413, 500 and 503 are listed (the dispatcher sends them on any route);
//     401 and 403 unless public; 400, 415 and 422 with a request body; 404
//     with a path parameter; 400 with a query parameter;
//   - every 4xx/5xx response is JSON whose schema is the error shape (its
//     example error validates against it, a body without "error" does not);
//   - a JSON request body's object schemas say additionalProperties: false
//     (wardd rejects unknown members), except free-form documents.
// Exits 1 with one line per problem.

import { Contract, deref } from './contract.mjs';

const contract = new Contract(process.argv[2]); // default docs/openapi.json
const doc = contract.doc;
const ROLES = ['none', 'device', 'viewer', 'nurse', 'physician', 'admin'];
const problems = [];

function closedObjects(schema, where, seen = new Set()) {
  schema = deref(doc, schema);
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return;
  seen.add(schema);
  if (schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object'))) {
    if (schema.properties && schema.additionalProperties !== false) {
      problems.push(`${where}: a request object schema without additionalProperties: false`);
    }
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) (schema[k] || []).forEach((s) => closedObjects(s, where, seen));
  for (const s of Object.values(schema.properties || {})) closedObjects(s, where, seen);
  if (schema.items) closedObjects(schema.items, where, seen);
}

for (const { template, method, op } of contract.operations()) {
  const where = `${method.toUpperCase()} ${template}`;
  const role = op['x-wardd-role'];
  const sec = JSON.stringify(op.security);
  if (!ROLES.includes(role)) problems.push(`${where}: x-wardd-role ${role} is not one of ${ROLES.join(', ')}`);
  const wantSec = role === 'none' ? '[]' : role === 'device' ? '[{"deviceToken":[]}]' : '[{"sessionToken":[]},{"sessionCookie":[]}]';
  if (sec !== wantSec) problems.push(`${where}: security ${sec} does not fit x-wardd-role ${role} (want ${wantSec})`);
  const params = (op.parameters || []).map((p) => deref(doc, p));
  const want = ['413', '500', '503'];
  if (role !== 'none') want.push('401', '403');
  if (op.requestBody) want.push('400', '415', '422');
  if (params.some((p) => p.in === 'path')) want.push('404');
  if (params.some((p) => p.in === 'query')) want.push('400');
  for (const s of want) if (!op.responses[s]) problems.push(`${where}: response ${s} is not listed`);
  for (const [status, r] of Object.entries(op.responses)) {
    if (Number(status) < 400) continue;
    const resp = deref(doc, r);
    const schema = resp.content && resp.content['application/json'] && resp.content['application/json'].schema;
    if (!schema) {
      problems.push(`${where}: response ${status} is not application/json`);
      continue;
    }
    const v = contract.schemaValidator(schema);
    if (v({ no: 'error' })) problems.push(`${where}: response ${status}'s schema accepts a body that is not the error shape`);
  }
  if (op.requestBody) {
    const rb = deref(doc, op.requestBody);
    const s = rb.content && rb.content['application/json'] && rb.content['application/json'].schema;
    if (!s) problems.push(`${where}: the request body is not application/json`);
    else if (template !== '/api/v1/rules') closedObjects(s, where);
  }
}
for (const p of problems) console.error(`  DOCUMENT ${p}`);
console.log(`api-contract: docs/openapi.json house rules: ${contract.operations().length} operations, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
