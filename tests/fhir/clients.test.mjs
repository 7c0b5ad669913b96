// Real FHIR R4 clients against a live wardd (docs/fhir.md), run by
// tests/fhir/run.sh: fhir-kit-client and fhirclient create, search, page
// and read; every official R4 example is accepted or refused as
// docs/fhir.md's table says; a Synthea bundle's vital signs go in by
// transaction and come back by search unchanged; and every body wardd
// sends under /fhir validates against the official R4 JSON Schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json');
const FhirKit = require('fhir-kit-client');
const smart = require('fhirclient');

const here = path.dirname(fileURLToPath(import.meta.url));
const URL_BASE = process.env.WARDD_URL;
const FHIR = `${URL_BASE}/fhir`;
const validated = { count: 0, failures: [] };

// --- the R4 JSON Schema ------------------------------------------------------
const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
ajv.addMetaSchema(draft06);
const schema = JSON.parse(fs.readFileSync(path.join(here, 'schema/fhir.schema.json'), 'utf8'));
// The file names itself with draft-06's "id"; ajv 8 wants "$id".
schema.$id = schema.id;
delete schema.id;
// The one known defect of the published R4 JSON Schema: its FHIRVersion
// enum stops at 4.0.0, while R4's technical correction, which this file
// describes, is 4.0.1 (what wardd, HAPI and the CapabilityStatement of
// hl7.org/fhir/R4 state). Nothing else is changed (docs/fhir.md).
const versions = schema.definitions.CapabilityStatement.properties.fhirVersion;
if (versions.enum && !versions.enum.includes('4.0.1')) versions.enum.push('4.0.1');
const validateR4 = ajv.compile(schema);

function checkR4(body, where) {
  validated.count++;
  if (!validateR4(body)) {
    validated.failures.push(`${where}: ${ajv.errorsText(validateR4.errors)}`);
  }
}

// Every response from wardd under /fhir, whoever asked: a fetch that
// records and validates the body, used by our own requests.
async function fhirFetch(url, init = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body = null;
  if (text) {
    body = JSON.parse(text);
    if (res.headers.get('content-type')?.startsWith('application/fhir+json')) {
      checkR4(body, `${init.method || 'GET'} ${url} -> ${res.status}`);
    }
  }
  return { status: res.status, headers: res.headers, body };
}

// --- the ward ----------------------------------------------------------------
let nurse, viewer, patient, patient2;

async function login(user) {
  const r = await fetch(`${URL_BASE}/api/v1/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: `wardd-${user}-demo` }),
  });
  assert.equal(r.status, 200, `login ${user}`);
  return (await r.json()).token;
}

let admin;
let bedSeq = 0;

// A new bed (as admin) and a new patient in it (as nurse): the demo ward's
// beds are all taken.
async function admit(name) {
  const bed = `FHIR${++bedSeq}`;
  const b = await fetch(`${URL_BASE}/api/v1/beds`, {
    method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: bed, label: `FHIR test bed ${bedSeq}` }),
  });
  assert.equal(b.status, 201, `bed ${bed}: ${await b.clone().text()}`);
  const r = await fetch(`${URL_BASE}/api/v1/patients`, {
    method: 'POST', headers: { authorization: `Bearer ${nurse}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mrn: `MRN-${bed}`, name, bed }),
  });
  assert.equal(r.status, 201, `admit ${name}: ${await r.clone().text()}`);
  return (await r.json()).id;
}

before(async () => {
  admin = await login('admin');
  nurse = await login('nurse');
  viewer = await login('viewer');
  patient = await admit('Fhir Clients');
});

after(() => {
  assert.ok(validated.count > 0, 'no /fhir response was schema-checked');
  assert.deepEqual(validated.failures, [], 'responses that do not validate against the R4 schema');
});

function hr(value, when, ident) {
  return {
    resourceType: 'Observation', status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: when,
    valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    ...(ident ? { identifier: [{ system: 'urn:test:clients', value: ident }] } : {}),
  };
}

const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString();

// --- fhir-kit-client ---------------------------------------------------------
test('fhir-kit-client: create, read, search, page, transaction', async () => {
  const client = new FhirKit({ baseUrl: FHIR, customHeaders: { Authorization: `Bearer ${nurse}` } });
  const created = await client.create({ resourceType: 'Observation', body: hr(101, minutesAgo(50), 'kit-1') });
  checkR4(created, 'fhir-kit-client create');
  assert.equal(created.resourceType, 'Observation');
  assert.equal(created.valueQuantity.value, 101);
  const read = await client.read({ resourceType: 'Observation', id: created.id });
  checkR4(read, 'fhir-kit-client read');
  assert.deepEqual(read, created);
  for (let i = 0; i < 5; i++) {
    await client.create({ resourceType: 'Observation', body: hr(60 + i, minutesAgo(40 - i)) });
  }
  let page = await client.search({ resourceType: 'Observation', searchParams: { patient, code: '8867-4', _count: 2 } });
  const values = [];
  for (let n = 0; page && n < 10; n++) {
    checkR4(page, 'fhir-kit-client search page');
    for (const e of page.entry || []) values.push(e.resource.valueQuantity.value);
    page = page.link?.some((l) => l.relation === 'next') ? await client.nextPage({ bundle: page }) : null;
  }
  assert.deepEqual(values, [101, 60, 61, 62, 63, 64]);
  // a transaction, POSTed to [base]/ with the trailing slash
  const tx = await client.transaction({
    body: {
      resourceType: 'Bundle', type: 'transaction',
      entry: [hr(70, minutesAgo(30)), hr(71, minutesAgo(29))].map((resource) => ({ resource, request: { method: 'POST', url: 'Observation' } })),
    },
  });
  checkR4(tx, 'fhir-kit-client transaction');
  assert.equal(tx.type, 'transaction-response');
  assert.deepEqual(tx.entry.map((e) => e.response.status), ['201 Created', '201 Created']);
  // an error comes back as an OperationOutcome the client parses
  await assert.rejects(
    client.create({ resourceType: 'Observation', body: { ...hr(70, minutesAgo(1)), status: 'cancelled' } }),
    (e) => e.response.status === 422 && e.response.data.resourceType === 'OperationOutcome',
  );
});

// --- fhirclient --------------------------------------------------------------
test('fhirclient: create with plain application/json, Location, minimal', async () => {
  const client = new smart.FhirClient(FHIR);
  const headers = { authorization: `Bearer ${nurse}` };
  const r = await client.create(hr(88, minutesAgo(20), 'smart-1'), { includeResponse: true, headers });
  assert.equal(r.response.status, 201);
  checkR4(r.body, 'fhirclient create');
  const loc = r.response.headers.get('location');
  assert.match(loc, new RegExp(`^${FHIR}/Observation/${r.body.id}/_history/1$`));
  // an empty body: fhirclient follows the absolute Location with a GET
  const minimal = await client.create(hr(89, minutesAgo(19)), {
    includeResponse: true, headers: { ...headers, prefer: 'return=minimal' },
  });
  assert.equal(minimal.response.status, 201);
  const back = await fhirFetch(minimal.response.headers.get('location'), { headers });
  assert.equal(back.status, 200);
  assert.equal(back.body.valueQuantity.value, 89);
  const search = await client.fhirRequest(`Observation?patient=${patient}&code=8867-4&_sort=-date&_count=1`, { headers });
  checkR4(search, 'fhirclient search');
  assert.equal(search.entry.length, 1);
  const tx = await client.fhirRequest('', {
    method: 'POST', headers: { ...headers, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: [{ resource: hr(90, minutesAgo(18)), request: { method: 'POST', url: 'Observation' } }] }),
  });
  checkR4(tx, 'fhirclient batch');
  assert.equal(tx.type, 'batch-response');
});

// --- the official R4 examples, as docs/fhir.md says -------------------------
// Sent twice: as published (subject Patient/example, which is not a
// patient here; most carry a date without a time of day), and adapted
// (subject one of ours, effective time now).
const examples = {
  'Observation-heart-rate.json': { asIs: 422, adapted: 201 },
  'Observation-respiratory-rate.json': { asIs: 422, adapted: 201 },
  'Observation-satO2.json': { asIs: 422, adapted: 201 },
  'Observation-body-temperature.json': { asIs: 422, adapted: 201 },
  'Observation-blood-pressure.json': { asIs: 422, adapted: 201 },
  'Observation-mbp.json': { asIs: 422, adapted: 201 },
  'Observation-example.json': { asIs: 422, adapted: 201 },
  'Observation-blood-pressure-cancel.json': { asIs: 422, adapted: 422, issue: 'business-rule' },
  'Observation-blood-pressure-dar.json': { asIs: 422, adapted: 422, issue: 'not-supported' },
  'Observation-bmi.json': { asIs: 422, adapted: 422, issue: 'code-invalid' },
  'Observation-body-height.json': { asIs: 422, adapted: 422, issue: 'code-invalid' },
  'Observation-vitals-panel.json': { asIs: 422, adapted: 422, issue: 'code-invalid' },
  'Patient-example.json': { asIs: 400, adapted: 400, issue: 'structure' },
  'DeviceMetric-example.json': { asIs: 400, adapted: 400, issue: 'structure' },
  'Bundle-bundle-transaction.json': { asIs: 400, adapted: 400, issue: 'structure' },
};

test('official R4 examples are accepted or refused as documented', async () => {
  const headers = { authorization: `Bearer ${nurse}`, 'content-type': 'application/fhir+json' };
  for (const [file, want] of Object.entries(examples)) {
    const res = JSON.parse(fs.readFileSync(path.join(here, 'examples', file), 'utf8'));
    const asIs = await fhirFetch(`${FHIR}/Observation`, { method: 'POST', headers, body: JSON.stringify(res) });
    assert.equal(asIs.status, want.asIs, `${file} as published: ${JSON.stringify(asIs.body)}`);
    const adapted = { ...res, subject: { reference: `Patient/${patient}` }, effectiveDateTime: minutesAgo(5) };
    delete adapted.effectivePeriod;
    delete adapted.identifier;
    const r = await fhirFetch(`${FHIR}/Observation`, { method: 'POST', headers, body: JSON.stringify(adapted) });
    assert.equal(r.status, want.adapted, `${file} adapted: ${JSON.stringify(r.body)}`);
    if (want.issue) assert.equal(r.body.issue[0].code, want.issue, `${file}: issue code`);
    if (r.status === 201) assert.equal(r.body.resourceType, 'Observation');
  }
});

// --- Synthea: vital signs in by transaction, out by search unchanged ----------
const HELD = new Set(['8867-4', '9279-1', '59408-5', '2708-6', '8310-5', '8331-1', '29463-7', '85354-9', '8480-6', '8462-4', '8478-0', '777-3', '2160-0']);

test('a Synthea bundle round-trips its vital signs', async () => {
  patient2 = await admit('Synthea Kallie');
  const bundle = JSON.parse(fs.readFileSync(path.join(here, 'synthea/Kallie862_Frami345_9a0d7938-4f49-43f6-8eea-b22e1bbe1b74.json'), 'utf8'));
  const sent = [];
  const entry = [];
  for (const e of bundle.entry) {
    const r = e.resource;
    if (r.resourceType !== 'Observation') continue;
    const code = r.code.coding.find((c) => c.system === 'http://loinc.org')?.code;
    if (!HELD.has(code)) continue;
    const resource = { ...r, subject: { reference: `Patient/${patient2}` } };
    delete resource.encounter;
    delete resource.id;
    entry.push({ resource, request: { method: 'POST', url: 'Observation' } });
    const parts = r.component ? r.component : [r];
    for (const p of parts) {
      const pc = (p.code.coding.find((c) => c.system === 'http://loinc.org') || {}).code;
      sent.push({ code: pc, value: p.valueQuantity.value, unit: p.valueQuantity.code, time: Date.parse(r.effectiveDateTime) });
    }
  }
  assert.ok(entry.length >= 15, `Synthea held observations: ${entry.length}`);
  const headers = { authorization: `Bearer ${nurse}`, 'content-type': 'application/fhir+json' };
  const tx = await fhirFetch(`${FHIR}/`, { method: 'POST', headers, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  assert.equal(tx.status, 200, JSON.stringify(tx.body).slice(0, 500));
  assert.ok(tx.body.entry.every((e) => e.response.status === '201 Created'));
  // back by search, every page
  const got = [];
  let url = `${FHIR}/Observation?patient=${patient2}&_count=50`;
  while (url) {
    const page = await fhirFetch(url, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(page.status, 200);
    for (const e of page.body.entry || []) {
      const o = e.resource;
      got.push({ code: o.code.coding[0].code, value: o.valueQuantity.value, unit: o.valueQuantity.code, time: Date.parse(o.effectiveDateTime) });
    }
    url = page.body.link.find((l) => l.relation === 'next')?.url;
  }
  const norm = (x) => `${x.code === '8331-1' ? '8310-5' : x.code}|${x.value}|${x.unit}|${x.time}`;
  assert.deepEqual(got.map(norm).sort(), sent.map(norm).sort());
});

// --- every other resource wardd serves, checked against the R4 schema ----------
test('metadata, Patient, Device and the findings validate against R4', async () => {
  const headers = { authorization: `Bearer ${viewer}` };
  const meta = await fhirFetch(`${FHIR}/metadata`);
  assert.equal(meta.status, 200);
  assert.equal(meta.body.resourceType, 'CapabilityStatement');
  const patients = await fhirFetch(`${FHIR}/Patient`, { headers });
  assert.equal(patients.status, 200);
  assert.ok(patients.body.entry.length >= 6, 'the demo ward and ours');
  for (const e of patients.body.entry.slice(0, 8)) {
    const id = e.resource.id;
    const p = await fhirFetch(`${FHIR}/Patient/${id}`, { headers });
    assert.equal(p.status, 200);
    const mrn = p.body.identifier[0].value;
    const byMrn = await fhirFetch(`${FHIR}/Patient?identifier=${encodeURIComponent(mrn)}`, { headers });
    assert.equal(byMrn.body.entry.length, 1);
    const di = await fhirFetch(`${FHIR}/DetectedIssue/decision-${id}`, { headers });
    assert.equal(di.status, 200);
    assert.match(di.body.code.coding[0].code, /^(give|hold|discontinue|insufficient_data)$/);
    const news2 = await fhirFetch(`${FHIR}/Observation/news2-${id}`, { headers });
    assert.equal(news2.status, 200);
    const fever = await fhirFetch(`${FHIR}/Observation/ctcae-${id}-fever`, { headers });
    assert.equal(fever.status, 200);
    const devices = await fhirFetch(`${FHIR}/Device?patient=${id}`, { headers });
    assert.equal(devices.status, 200);
    for (const d of devices.body.entry || []) {
      assert.equal((await fhirFetch(`${FHIR}/Device/${d.resource.id}`, { headers })).status, 200);
    }
  }
  const lastn = await fhirFetch(`${FHIR}/Observation/$lastn?max=3`, { headers });
  assert.equal(lastn.status, 200);
  assert.ok(lastn.body.entry.length > 0);
  // errors are OperationOutcomes, schema-checked like the rest
  const missing = await fhirFetch(`${FHIR}/Observation/999999999`, { headers });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.resourceType, 'OperationOutcome');
});
