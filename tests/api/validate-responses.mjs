#!/usr/bin/env node
// Validates every response a test suite received against docs/openapi.json.
//   node tests/api/validate-responses.mjs build/responses-integration.jsonl [more.jsonl ...]
// Each line: {"method", "path", "status", "content_type", "body"} (written by
// tests/integration/harness.c when WARDD_RESPONSE_LOG is set, and by
// tests/e2e/response-log.mjs for the browser suite). Prints every response
// outside the contract (operation, status, schema error) and exits 1 when
// there is one, or when a file is missing or empty (a suite that logged
// nothing proves nothing). Also lists the operations no response exercised.

import { readFileSync, existsSync } from 'node:fs';
import { Contract } from './contract.mjs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: validate-responses.mjs FILE.jsonl...');
  process.exit(2);
}
const contract = new Contract();
let checked = 0;
let bad = 0;
const seen = new Set();
const problems = new Map(); // key -> {text of the first example, count}

for (const file of files) {
  if (!existsSync(file)) {
    console.error(`api-contract: ${file} does not exist (was the suite run with its response log on?)`);
    process.exit(1);
  }
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  if (lines.length === 0) {
    console.error(`api-contract: ${file} holds no response`);
    process.exit(1);
  }
  for (const [i, line] of lines.entries()) {
    let r;
    try {
      r = JSON.parse(line);
    } catch (e) {
      console.error(`api-contract: ${file}:${i + 1}: not JSON: ${e.message}`);
      process.exit(1);
    }
    checked++;
    const m = contract.match(r.path.split('?')[0]);
    const method = (r.method === 'HEAD' ? 'get' : r.method.toLowerCase());
    if (m && m.item[method]) seen.add(`${method.toUpperCase()} ${m.template}`);
    const why = contract.check(r);
    if (why) {
      bad++;
      const p = problems.get(why.key) || { text: why.text, n: 0 };
      p.n++;
      problems.set(why.key, p);
    }
  }
}
for (const p of problems.values()) console.error(`  UNDOCUMENTED ${p.text}${p.n > 1 ? `\n      (and ${p.n - 1} more like it)` : ''}`);
const ops = contract.operations().map((o) => `${o.method.toUpperCase()} ${o.template}`);
const unseen = ops.filter((o) => !seen.has(o));
console.log(`api-contract: ${checked} responses from ${files.join(', ')}: ${checked - bad} documented, ${bad} not`);
console.log(`api-contract: ${ops.length - unseen.length} of ${ops.length} operations exercised${unseen.length ? `; not: ${unseen.join(', ')}` : ''}`);
process.exit(bad ? 1 : 0);
