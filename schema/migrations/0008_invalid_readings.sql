-- 0008: readings a clinician can overrule, and device clock alerts
-- (docs/api.md "Invalid readings", docs/clinical.md "Invalid readings" and
-- "Device clock drift"). Times are UTC epoch ms.
-- Append-only: a mistake here is undone by a new migration, never an edit.

-- A reading marked invalid stays in observations (never deleted) with who,
-- when and why; every clinical read (engine, NEWS2, KDIGO, latest, series,
-- readings pages unless asked) skips rows whose invalid_at is set. A
-- physician's reinstatement sets the four columns back to NULL; the audit
-- log keeps both steps with before/after.
ALTER TABLE observations ADD COLUMN invalid_at INTEGER;      -- when marked invalid; NULL: valid
ALTER TABLE observations ADD COLUMN invalid_by TEXT;         -- user name of who marked it
ALTER TABLE observations ADD COLUMN invalid_user_id INTEGER; -- that user (users.id)
ALTER TABLE observations ADD COLUMN invalid_reason TEXT;     -- why, as entered

-- A new alert kind, device_clock (a device's clock runs ahead of or behind
-- the server's). SQLite cannot change a CHECK constraint in place: the
-- table is rebuilt with the same columns and indexes and its rows copied.
CREATE TABLE alerts_new (
    id            INTEGER PRIMARY KEY,
    patient_id    INTEGER REFERENCES patients(id),
    bed_id        TEXT,
    device_id     INTEGER REFERENCES devices(id),
    kind          TEXT NOT NULL CHECK (kind IN ('grade', 'decision', 'news2',
                                                'device_silent', 'data_missing',
                                                'device_clock')),
    condition_key TEXT NOT NULL,
    priority      TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),
    base_priority TEXT NOT NULL CHECK (base_priority IN ('low', 'medium', 'high')),
    term          TEXT,
    grade         INTEGER,
    level         INTEGER NOT NULL DEFAULT 0,
    message       TEXT NOT NULL,
    raised_at     INTEGER NOT NULL,
    activated_at  INTEGER NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'resolved')),
    escalated_at  INTEGER,
    escalations   INTEGER NOT NULL DEFAULT 0,
    acked_at      INTEGER,
    acked_by      TEXT,
    ack_note      TEXT,
    resolved_at   INTEGER,
    resolution    TEXT
) STRICT;
INSERT INTO alerts_new SELECT id, patient_id, bed_id, device_id, kind, condition_key, priority,
    base_priority, term, grade, level, message, raised_at, activated_at, state, escalated_at,
    escalations, acked_at, acked_by, ack_note, resolved_at, resolution FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE UNIQUE INDEX alerts_one_per_condition ON alerts(condition_key) WHERE state != 'resolved';
CREATE INDEX alerts_state ON alerts(state, raised_at);
CREATE INDEX alerts_patient ON alerts(patient_id, state);
