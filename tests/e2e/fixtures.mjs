// Responses in the shapes of docs/api.md for the clinical engine's
// endpoints (toxicity, doses, alerts, rules, and the engine's fields of
// /api/v1/ward). The "engine panels" test serves these through
// page.route() so the dashboard's rendering of them is tested before the
// engine lands; once it has, the other tests exercise the real thing.

import { readFileSync } from 'node:fs';

const iso = (msAgo) => new Date(Date.now() - msAgo).toISOString();
const H = 3600e3, M = 60e3;

// Engine fields laid over the real /api/v1/ward response, by bed.
export const WARD_ENGINE = {
  B1: { max_grade: 3, active_alerts: 2,
        decision: { action: 'hold', reasons: [{ rule: 'L24-RS-1', text: 'SpO2 < 90% on room air', source: 'Proleukin label 2024, table 3' }] } },
  B2: { max_grade: 2, active_alerts: 0, decision: 'give' },
  B3: { max_grade: 4, active_alerts: 1, decision: { action: 'discontinue', reasons: [{ rule: 'L24-CV-2', text: 'Chest pain or ischemic ECG change' }] } },
  B4: { max_grade: 1, active_alerts: 0, decision: { action: 'insufficient_data', reasons: [], missing: ['spo2'] } },
  B5: { max_grade: 0, active_alerts: 0, decision: 'give' },
  B6: { max_grade: 0, active_alerts: 0, decision: 'give' },
};

export function schedule(dose = 7) {
  return {
    status: 'due', dose_due: true, cycle: 1, day: 3, dose_in_cycle: dose, dose_in_course: dose,
    doses_given_cycle: dose - 2, doses_held_cycle: 1, doses_given_course: dose - 2,
    max_doses_per_cycle: 14, max_doses_per_course: 28,
    next_dose_at: new Date(Date.now() + 2 * H).toISOString(), first_dose_at: iso(50 * H),
    cycle_start: iso(50 * H), time_zone: 'Europe/Oslo', utc_offset_minutes: 60,
  };
}

// Demo patients 1-6 lie in beds B1-B6; patient 1 gets the full picture,
// the others a decision that agrees with WARD_ENGINE.
export function toxicity(patientId) {
  const w = WARD_ENGINE[`B${patientId}`];
  if (patientId !== 1) {
    const d = !w ? { action: 'give', reasons: [] } : typeof w.decision === 'string' ? { action: w.decision, reasons: [] } : w.decision;
    return { patient_id: patientId, at: iso(0), ruleset: { name: 'il2-default', version: 3 }, terms: [],
             decision: { not_evaluated: [], missing: [], ...d }, schedule: schedule(5 + patientId) };
  }
  return {
    patient_id: patientId, at: iso(0), ruleset: { name: 'il2-default', version: 3 },
    terms: [
      { term: 'hypoxia', label: 'Hypoxia', grade: 3, since: iso(40 * M), max_grade: 3, source: 'CTCAE v5.0',
        evidence: [{ code: 'spo2', value: 87, time: iso(5 * M) }], numeric_grade: 3, clinician_grade: null },
      { term: 'fever', label: 'Fever', grade: 2, since: iso(2 * H), max_grade: 2, source: 'CTCAE v5.0',
        evidence: [{ code: 'temp', value: 39.4, time: iso(10 * M) }], numeric_grade: 2, clinician_grade: null },
      { term: 'confusion', label: 'Confusion', grade: null, since: null, max_grade: null, source: 'CTCAE v5.0',
        evidence: [], numeric_grade: null, clinician_grade: null, missing: ['ctcae.confusion'],
        suggested: { grade: 1, text: 'consciousness C', note: 'proxy suggestion' } },
      { term: 'weight_gain', label: 'Weight gain', grade: 0, since: null, max_grade: 1, source: 'CTCAE v5.0',
        evidence: [{ code: 'weight', value: 71.2, time: iso(3 * H) }], numeric_grade: 0, clinician_grade: null },
    ],
    decision: {
      action: 'hold',
      reasons: [
        { rule: 'L24-RS-1', text: 'SpO2 < 90% on room air', source: 'Proleukin label 2024, table 3', class: 'label',
          action: 'hold', evidence: [{ code: 'spo2', value: 87, time: iso(5 * M) }], since: iso(40 * M),
          resume: 'SpO2 > 90% on room air' },
        { rule: 'DUT-R-HR', text: 'Heart rate 100-130 /min', source: 'Dutcher 2014 table 3', class: 'relative',
          action: 'hold', evidence: [{ code: 'hr', value: 118, time: iso(5 * M) }] },
      ],
      not_evaluated: [{ rule: 'DUT-R-URINE', missing: ['urine (8 h coverage)'] }],
      missing: [],
    },
    news2: { score: 7, partial_score: 7, complete: true, risk: 'high', single_parameter_3: true, components: {} },
    kdigo: { stage: 1, basis: ['creatinine'], weight_basis: 'baseline.weight_kg (pre-treatment weight)', weight_kg: 68, evidence: [] },
    schedule: schedule(),
  };
}

export function doses() {
  return { doses: [
    { id: 3, time: iso(8 * H), status: 'given', reason: null, recorded_by: 'nurse', dose_in_cycle: 6 },
    { id: 2, time: iso(16 * H), status: 'held', reason: 'SBP 86', recorded_by: 'nurse', dose_in_cycle: 5 },
    { id: 1, time: iso(24 * H), status: 'given', reason: null, recorded_by: 'nurse', dose_in_cycle: 4 },
  ] };
}

export function alerts() {
  return { alerts: [
    { id: 41, patient_id: 1, bed: 'B1', kind: 'grade', priority: 'high', term: 'hypoxia', grade: 3,
      message: 'Hypoxia grade 3 (SpO2 87%)', raised_at: iso(12 * M), state: 'active', acked_at: null,
      acked_by: null, resolved_at: null, escalation_level: 1, escalated_at: iso(2 * M) },
    { id: 42, patient_id: 1, bed: 'B1', kind: 'dose_hold', priority: 'medium', term: null, grade: null,
      message: 'Next dose: HOLD (SpO2 < 90%)', raised_at: iso(40 * M), state: 'active', acked_at: null,
      acked_by: null, resolved_at: null },
    { id: 40, patient_id: 3, bed: 'B3', kind: 'device_silent', priority: 'low', term: null, grade: null,
      message: 'MON-1003 silent for 6 min', raised_at: iso(6 * M), state: 'active', acked_at: null,
      acked_by: null, resolved_at: null },
  ] };
}

export function rules() {
  return {
    name: 'il2-default', version: 3,
    rules: [
      { id: 'L24-CV-1', text: 'SBP < 90 mmHg', source: 'Proleukin label 2024', class: 'label', action: 'hold',
        when: { latest: 'sbp', lt: 90 }, resume: { when: { latest: 'sbp', ge: 90 }, text: 'SBP >= 90 mmHg' } },
      { id: 'L24-RS-1', text: 'SpO2 < 90%', source: 'Proleukin label 2024', class: 'label', action: 'hold',
        when: { latest: 'spo2', lt: 90 } },
      { id: 'DUT-R-HR', text: 'HR 100-130', source: 'Dutcher 2014', class: 'relative', action: 'hold',
        when: { latest: 'hr', ge: 100, le: 130 } },
      { id: 'DUT-A-HR', text: 'HR > 130', source: 'Dutcher 2014', class: 'absolute', action: 'hold',
        when: { latest: 'hr', gt: 130 } },
    ],
    terms: [{ id: 'fever', label: 'Fever', source: 'CTCAE v5.0' }],
  };
}

export function ruleVersions() {
  return { versions: [{ version: 3, name: 'il2-default', created_at: iso(48 * H), created_by: 'admin', active: true }] };
}

// GET /api/v1/catalogue in its documented shape (docs/api.md "Catalogue").
// The CTCAE terms are those of the default rule file, read from it, so a
// term added there is offered here too; the codes are a canned subset of
// each kind, and the key ranges those of docs/api.md "Patients".
export function catalogue() {
  const rules = JSON.parse(readFileSync(new URL('../../schema/rules/il2-default.json', import.meta.url), 'utf8'));
  return {
    codes: [
      { code: 'hr', label: 'Heart rate', unit: '/min', kind: 'numeric', loinc: '8867-4' },
      { code: 'spo2', label: 'Oxygen saturation (pulse oximetry)', unit: '%', kind: 'numeric', loinc: '59408-5' },
      { code: 'temp', label: 'Body temperature', unit: 'Cel', kind: 'numeric', loinc: '8310-5' },
      { code: 'creatinine', label: 'Serum creatinine', unit: 'mg/dL', kind: 'numeric', loinc: '2160-0' },
      { code: 'vt_beats', label: 'Longest ventricular run', unit: '{beats}', kind: 'numeric', loinc: null },
      { code: 'rhythm', label: 'Cardiac rhythm', unit: null, kind: 'categorical', loinc: null },
      { code: 'intubated', label: 'Intubated', unit: null, kind: 'flag', loinc: null },
      { code: 'ctcae.fever', label: 'Fever (CTCAE grade)', unit: '{grade}', kind: 'grade', loinc: null },
    ],
    baseline_keys: [
      { key: 'weight_kg', label: 'Weight', unit: 'kg', min: 20, max: 400 },
      { key: 'creatinine_mg_dl', label: 'Creatinine', unit: 'mg/dL', min: 0.1, max: 20 },
      { key: 'stools_per_day', label: 'Stools per day', unit: '{stools}/d', min: 0, max: 20 },
    ],
    limit_keys: [
      { key: 'creatinine_uln', label: 'Creatinine ULN', unit: 'mg/dL', min: 0.3, max: 5 },
      { key: 'ph_lln', label: 'pH LLN', unit: '[pH]', min: 6.8, max: 7.8 },
    ],
    ctcae_terms: rules.terms.map((t) => ({ term: t.term, label: t.label })),
  };
}
