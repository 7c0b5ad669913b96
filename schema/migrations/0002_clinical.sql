-- 0002: the clinical layer. Dose records, versioned rule sets and alerts
-- (docs/api.md "Clinical endpoints", "Ward", "Audit";
-- docs/clinical.md). Times are UTC epoch ms.
-- Append-only: a mistake here is undone by a new migration, never an edit.

-- One row per dose slot a nurse recorded as given or held (docs/api.md
-- POST /patients/{id}/doses). The engine reads them for the schedule and
-- the cycle (max grade "this cycle" counts from the cycle start).
CREATE TABLE doses (
    id              INTEGER PRIMARY KEY, -- assigned by wardd
    patient_id      INTEGER NOT NULL REFERENCES patients(id), -- the patient
    time_ms         INTEGER NOT NULL,   -- the dose slot's time (given or held at)
    status          TEXT NOT NULL CHECK (status IN ('given', 'held')), -- what was done
    reason          TEXT,               -- free text, e.g. why it was held; NULL when none
    override_reason TEXT,               -- physician's reason for giving against the decision
    decision        TEXT NOT NULL,      -- engine action at time_ms when recorded:
                                        -- give | hold | discontinue | insufficient_data
    recorded_by     TEXT NOT NULL,      -- user name (survives the user)
    user_id         INTEGER REFERENCES users(id), -- the user, NULL for the command line
    created_at      INTEGER NOT NULL    -- when it was recorded
) STRICT;
-- One record per slot: a second record at the same time would count twice.
CREATE UNIQUE INDEX doses_patient_time ON doses(patient_id, time_ms);

-- Every rule set wardd has run, newest version last. The document is kept
-- verbatim (its "version" member equals the row's version).
CREATE TABLE rulesets (
    version    INTEGER PRIMARY KEY, -- assigned by wardd: 1, 2, 3, ...
    name       TEXT NOT NULL,       -- the document's "name", e.g. 'il2-default'
    doc        TEXT NOT NULL,       -- the rule set, JSON (docs/rules.md)
    created_at INTEGER NOT NULL,    -- when it was stored (and activated)
    created_by TEXT NOT NULL,       -- user name, or '(wardd)' for the start-up default
    active     INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)) -- 1: the one in force
) STRICT;
-- At most one active rule set; wardd activates in the transaction that
-- deactivates the previous one, so there is exactly one once started.
CREATE UNIQUE INDEX rulesets_one_active ON rulesets(active) WHERE active = 1;

-- Alerts (docs/api.md "Alerts"; lifecycle in docs/clinical.md). A condition key
-- names what the alert is about ('p7:grade:fever', 'p7:decision',
-- 'd3:silent'); at most one unresolved alert per key.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY, -- assigned by wardd (the alert "id" of docs/api.md)
    patient_id    INTEGER REFERENCES patients(id), -- the patient it concerns
    bed_id        TEXT,             -- the patient's (or device's) bed when raised
    device_id     INTEGER REFERENCES devices(id), -- device_silent alerts: the device
    kind          TEXT NOT NULL CHECK (kind IN ('grade', 'decision', 'news2',
                                                'device_silent', 'data_missing')), -- what raised it
    condition_key TEXT NOT NULL,    -- one alert per condition while it lasts
    priority      TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')), -- now (escalated)
    base_priority TEXT NOT NULL CHECK (base_priority IN ('low', 'medium', 'high')), -- the
                                    -- condition's own priority, before escalation
    term          TEXT,             -- grade alerts: the CTCAE term id
    grade         INTEGER,          -- grade alerts: the highest grade while open
    level         INTEGER NOT NULL DEFAULT 0, -- severity within the kind (grade; decision
                                    -- 2 hold, 3 discontinue; NEWS2 priority 1-3): a rise
                                    -- while open upgrades the alert in place
    message       TEXT NOT NULL,    -- one sentence for the wall display
    raised_at     INTEGER NOT NULL, -- when raised
    activated_at  INTEGER NOT NULL, -- when it last became active (raise, or an upgrade
                                    -- that re-activated an acknowledged alert)
    state         TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'resolved')), -- lifecycle
    escalated_at  INTEGER,          -- last escalation, NULL when never escalated
    escalations   INTEGER NOT NULL DEFAULT 0, -- how many times escalated
    acked_at      INTEGER,          -- when acknowledged, NULL when not
    acked_by      TEXT,             -- user name of who acknowledged
    ack_note      TEXT,             -- the acknowledging nurse's note
    resolved_at   INTEGER,          -- when resolved, NULL while open
    resolution    TEXT              -- why it resolved (resume criterion met, discharged, ...)
) STRICT;
CREATE UNIQUE INDEX alerts_one_per_condition ON alerts(condition_key) WHERE state != 'resolved';
-- GET /alerts?state=...: newest first per state; the escalation timer reads 'active'.
CREATE INDEX alerts_state ON alerts(state, raised_at);
-- GET /alerts?patient=..., the worker's open alerts of one patient, the ward counts.
CREATE INDEX alerts_patient ON alerts(patient_id, state);
