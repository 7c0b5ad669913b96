-- 0005: the ward's time zone and a patient's courses (docs/rules.md 7.7,
-- docs/clinical.md "Courses").
-- Append-only: a mistake here is undone by a new migration, never an edit.
-- Idempotent (IF NOT EXISTS; the updates match nothing a second time), as
-- a test re-applies migrations over a rewound version.

-- Rule sets stored before this version carry a fixed
-- schedule.utc_offset_minutes, which the loader now refuses (it cannot
-- follow daylight saving). Stored sets are converted so the server keeps
-- starting with them:
--  * offset 0 with time_zone "UTC" (the old default file, whose zone was
--    shown, not interpreted): both removed, so the ward's --time-zone
--    applies (UTC when none is given: the same times as before);
--  * any other offset: removed; time_zone is kept, and so is interpreted
--    with its daylight-saving rules from now on. Where time_zone was absent
--    or "UTC" and the offset a whole number of hours, the offset becomes
--    the fixed zone "Etc/GMT+N" (POSIX sign: Etc/GMT+5 is UTC-5), the same
--    times as before.
UPDATE rulesets
SET doc = json_remove(doc, '$.schedule.utc_offset_minutes', '$.schedule.time_zone')
WHERE json_extract(doc, '$.schedule.utc_offset_minutes') = 0
  AND coalesce(json_extract(doc, '$.schedule.time_zone'), 'UTC') IN ('UTC', 'Etc/UTC');

UPDATE rulesets
SET doc = json_remove(
        CASE
            WHEN coalesce(json_extract(doc, '$.schedule.time_zone'), 'UTC') IN ('UTC', 'Etc/UTC')
                 AND json_extract(doc, '$.schedule.utc_offset_minutes') % 60 = 0
            THEN json_set(doc, '$.schedule.time_zone',
                          'Etc/GMT' || printf('%+d',
                              -json_extract(doc, '$.schedule.utc_offset_minutes') / 60))
            ELSE doc
        END,
        '$.schedule.utc_offset_minutes')
WHERE json_extract(doc, '$.schedule.utc_offset_minutes') IS NOT NULL;

-- Response evaluations of a person's courses (RECIST 1.1 category), entered
-- by a physician. Courses group the admissions of an MRN (by admitted_at;
-- the grouping is derived, docs/clinical.md "Courses"). Rows are never
-- changed or deleted; a correction is a later row (the latest by date,
-- then id, counts).
CREATE TABLE IF NOT EXISTS responses (
    id          INTEGER PRIMARY KEY,  -- assigned by wardd
    mrn         TEXT NOT NULL,        -- the person (patients.mrn)
    course      INTEGER NOT NULL CHECK (course >= 1), -- course number across admissions
    category    TEXT NOT NULL CHECK (category IN ('CR', 'PR', 'SD', 'PD')),
    date        TEXT NOT NULL,        -- YYYY-MM-DD of the evaluation (the scan)
    note        TEXT,                 -- free text, or NULL
    recorded_by TEXT NOT NULL,        -- user name (survives the user)
    user_id     INTEGER REFERENCES users(id), -- the user
    created_at  INTEGER NOT NULL      -- when it was recorded (UTC ms)
) STRICT;
CREATE INDEX IF NOT EXISTS responses_mrn ON responses(mrn, course, date, id);
-- The admissions of one person, in order (course numbering).
CREATE INDEX IF NOT EXISTS patients_mrn_admitted ON patients(mrn, admitted_at, id);
