// catalogue: the server's catalogues, fetched once from GET /api/v1/catalogue
// (any signed-in role) instead of copied into the dashboard:
//   codes          every observation code: label, canonical UCUM unit, kind
//                  (numeric, categorical, flag, grade) and LOINC code
//   baseline_keys  the patient record's pre-treatment baselines, with the
//                  range the server accepts
//   limit_keys     the reference limits a patient may override, with ranges
//   ctcae_terms    the CTCAE terms the ACTIVE rule set grades (clinician
//                  grades `ctcae.<term>` are accepted for exactly these)
// parseCatalogue() is pure (tests/e2e/unit.test.mjs feeds it canned data).

import { get } from './api.js';
import { setCodeLabels } from './format.js';

class CatalogueError extends Error {}

const isStr = (x) => typeof x === 'string' && x.length > 0;
const isNum = (x) => typeof x === 'number' && Number.isFinite(x);

function need(ok, what) {
  if (!ok) throw new CatalogueError(`the catalogue from the server is not as expected: ${what}`);
}

function parseKeys(list, name) {
  need(Array.isArray(list), `"${name}" is not a list`);
  return list.map((k, i) => {
    need(k && isStr(k.key) && isStr(k.label) && typeof k.unit === 'string' && isNum(k.min) && isNum(k.max) && k.min <= k.max,
      `${name}[${i}] needs key, label, unit, min <= max`);
    return { key: k.key, label: k.label, unit: k.unit, min: k.min, max: k.max };
  });
}

// The route's JSON -> {codes: Map code -> {code, label, unit, kind, loinc},
// baselineKeys, limitKeys, ctcaeTerms: [{term, label}]}. Throws an Error
// naming the first problem when the shape is not the documented one.
export function parseCatalogue(doc) {
  need(doc && typeof doc === 'object', 'not an object');
  need(Array.isArray(doc.codes), '"codes" is not a list');
  const codes = new Map();
  doc.codes.forEach((c, i) => {
    need(c && isStr(c.code) && isStr(c.label) && isStr(c.kind), `codes[${i}] needs code, label and kind`);
    need(c.unit === undefined || c.unit === null || typeof c.unit === 'string', `codes[${i}].unit`);
    need(c.loinc === undefined || c.loinc === null || typeof c.loinc === 'string', `codes[${i}].loinc`);
    // A kind this dashboard does not know leaves the code out of the entry form.
    codes.set(c.code, { code: c.code, label: c.label, unit: c.unit || null, kind: c.kind, loinc: c.loinc || null });
  });
  need(Array.isArray(doc.ctcae_terms), '"ctcae_terms" is not a list');
  const ctcaeTerms = doc.ctcae_terms.map((t, i) => {
    need(t && isStr(t.term) && isStr(t.label), `ctcae_terms[${i}] needs term and label`);
    return { term: t.term, label: t.label };
  });
  return {
    codes,
    baselineKeys: parseKeys(doc.baseline_keys, 'baseline_keys'),
    limitKeys: parseKeys(doc.limit_keys, 'limit_keys'),
    ctcaeTerms,
  };
}

// The codes of one kind, in the server's order.
export function codesOfKind(cat, kind) {
  return [...cat.codes.values()].filter((c) => c.kind === kind);
}

let pending = null;

// The catalogue, fetched once per page load and shared by every view. A
// failure is not remembered: the next call asks again. `fetchJson` is for
// tests.
export function loadCatalogue(fetchJson = get) {
  if (!pending) {
    pending = fetchJson('/api/v1/catalogue').then((doc) => {
      const cat = parseCatalogue(doc);
      setCodeLabels(cat.codes);
      return cat;
    });
    pending.catch(() => { pending = null; });
  }
  return pending;
}

// For tests: forget the fetched catalogue.
export function resetCatalogue() { pending = null; }
