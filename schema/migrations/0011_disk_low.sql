-- 0011: a technical alert of a new kind, disk_low: the free space of the
-- database's filesystem fell below the threshold of `wardd serve
-- --disk-warn-percent` / `--disk-warn-bytes` (docs/deploy.md "Storage").
-- Times are UTC epoch ms. (0010 is another branch's; the numbers need not
-- be contiguous, only increasing.)
-- Append-only: a mistake here is undone by a new migration, never an edit.

-- SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- with the same columns and index and its rows copied.
CREATE TABLE technical_alerts_new (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('identity_mismatch', 'disk_low')),
    feed_id     INTEGER REFERENCES feeds(id),
    control_id  TEXT,               -- MSH-10 of the message
    bed_id      TEXT,               -- the bed the message named
    patient_id  INTEGER REFERENCES patients(id), -- the patient PID-3 named, if admitted
    occupant_id INTEGER REFERENCES patients(id), -- the bed's occupant, if any
    message     TEXT NOT NULL,
    raised_at   INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'resolved'))
) STRICT;
INSERT INTO technical_alerts_new SELECT id, kind, feed_id, control_id, bed_id, patient_id,
    occupant_id, message, raised_at, state FROM technical_alerts;
DROP TABLE technical_alerts;
ALTER TABLE technical_alerts_new RENAME TO technical_alerts;
CREATE INDEX technical_alerts_state ON technical_alerts(state, raised_at);
-- At most one active disk_low alert: a low disk is one problem, however
-- often it is checked and however often wardd restarts while it lasts.
CREATE UNIQUE INDEX technical_alerts_one_disk_low ON technical_alerts(kind)
    WHERE kind = 'disk_low' AND state = 'active';
