-- 0001: the spine. Beds, patients and their stays, devices, observations,
-- staff accounts, sessions and the audit log. Times are UTC epoch ms.
-- Append-only: a mistake here is undone by a new migration, never an edit.

CREATE TABLE beds (
    id         TEXT PRIMARY KEY,   -- ward's bed identifier, e.g. 'B1'
    label      TEXT NOT NULL,      -- display label, e.g. 'Bed 1'
    created_at INTEGER NOT NULL    -- when the bed was added
) STRICT;

CREATE TABLE patients (
    id               INTEGER PRIMARY KEY,   -- assigned by wardd
    mrn              TEXT NOT NULL,         -- hospital medical record number
    name             TEXT NOT NULL,         -- display name
    birth_date       TEXT,                  -- YYYY-MM-DD or NULL
    sex              TEXT,                  -- free text as entered (female, male, ...)
    diagnosis        TEXT,                  -- melanoma | rcc | other | NULL
    status           TEXT NOT NULL DEFAULT 'admitted'
                     CHECK (status IN ('admitted', 'discharged')), -- admission state
    bed_id           TEXT REFERENCES beds(id), -- current bed; NULL once discharged
    admitted_at      INTEGER NOT NULL,      -- admission time
    discharged_at    INTEGER,               -- discharge time or NULL
    news2_scale      INTEGER NOT NULL DEFAULT 1 CHECK (news2_scale IN (1, 2)), -- SpO2 scale
    baseline         TEXT NOT NULL DEFAULT '{}', -- JSON: pre-treatment baselines (docs/api.md)
    reference_ranges TEXT NOT NULL DEFAULT '{}', -- JSON: per-patient reference limit overrides
    created_at       INTEGER NOT NULL,      -- row creation
    updated_at       INTEGER NOT NULL       -- last change
) STRICT;
-- At most one admitted patient per bed: the database enforces the 409.
CREATE UNIQUE INDEX patients_one_per_bed ON patients(bed_id) WHERE status = 'admitted';
-- One admitted record per person: a second admission of the same MRN
-- would split a patient's readings and grades across two records.
CREATE UNIQUE INDEX patients_one_admission ON patients(mrn) WHERE status = 'admitted';
CREATE INDEX patients_status ON patients(status, id);

-- Who occupied which bed when: readings are filed by the reading's time.
CREATE TABLE stays (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id), -- the occupant
    bed_id     TEXT NOT NULL REFERENCES beds(id),        -- the bed
    from_ms    INTEGER NOT NULL,                         -- start (inclusive)
    to_ms      INTEGER                                   -- end (exclusive); NULL while current
) STRICT;
CREATE INDEX stays_bed_time ON stays(bed_id, from_ms);
CREATE INDEX stays_patient ON stays(patient_id, from_ms);

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    serial     TEXT NOT NULL UNIQUE,  -- manufacturer serial
    model      TEXT,                  -- free text
    bed_id     TEXT REFERENCES beds(id), -- the bed it serves, or NULL
    token_hash TEXT UNIQUE,           -- SHA-256 hex of the bearer token; NULL once revoked
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,               -- NULL while active
    last_seen  INTEGER                -- last authenticated post
) STRICT;

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    username   TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'nurse', 'physician', 'admin')),
    pw_hash    TEXT NOT NULL,          -- argon2id (libsodium crypto_pwhash_str)
    disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,       -- SHA-256 hex of the session token
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL        -- absolute expiry
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

-- Every observation about a patient: device vitals, labs, nurse entries,
-- flags and clinician CTCAE grades (docs/api.md "Observation codes").
CREATE TABLE observations (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER REFERENCES patients(id), -- NULL: bed was empty at `time_ms`
    bed_id      TEXT,                -- the device's bed when filed (NULL for staff entries)
    code        TEXT NOT NULL,       -- canonical code, e.g. 'hr', 'ctcae.confusion'
    value_num   REAL,                -- numeric (canonical unit), flag 0/1, grade 0-5
    value_text  TEXT,                -- categorical value, e.g. 'af'
    time_ms     INTEGER NOT NULL,    -- when observed (device or staff time)
    received_ms INTEGER NOT NULL,    -- when wardd committed it
    device_id   INTEGER REFERENCES devices(id), -- source device, or NULL
    user_id     INTEGER REFERENCES users(id),   -- source user, or NULL
    msg_id      TEXT                 -- the source's own message id (idempotency key)
) STRICT;
CREATE UNIQUE INDEX observations_device_msg ON observations(device_id, msg_id)
    WHERE device_id IS NOT NULL;
CREATE UNIQUE INDEX observations_user_msg ON observations(user_id, msg_id)
    WHERE user_id IS NOT NULL AND msg_id IS NOT NULL;
CREATE INDEX observations_patient_code_time ON observations(patient_id, code, time_ms);
CREATE INDEX observations_patient_time ON observations(patient_id, time_ms);
CREATE INDEX observations_unassigned ON observations(bed_id, time_ms) WHERE patient_id IS NULL;

-- The newest observation of each code per patient, kept by the writer on
-- every insert, so the ward view reads 64 beds without scanning history.
CREATE TABLE latest (
    patient_id INTEGER NOT NULL REFERENCES patients(id), -- the patient
    code       TEXT NOT NULL,                            -- observation code
    value_num  REAL,                                     -- as in observations
    value_text TEXT,                                     -- as in observations
    time_ms    INTEGER NOT NULL,                         -- its observation time
    obs_id     INTEGER NOT NULL,                         -- observations.id
    PRIMARY KEY (patient_id, code)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,  -- when
    user_id   INTEGER,           -- who (NULL for the command line)
    username  TEXT NOT NULL,     -- who, as a name that survives the user
    action    TEXT NOT NULL,     -- e.g. 'patient.admit'
    entity    TEXT NOT NULL,     -- e.g. 'patient'
    entity_id TEXT,              -- e.g. '7'
    before    TEXT,              -- JSON before the change, or NULL
    after     TEXT               -- JSON after the change, or NULL
) STRICT;
CREATE INDEX audit_time ON audit(at_ms);
