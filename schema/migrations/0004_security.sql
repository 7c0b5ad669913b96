-- 0004: times that cannot be gamed and a tamper-evident audit log
-- (docs/security.md). Times are UTC epoch ms.
-- Append-only: a mistake here is undone by a new migration, never an edit.

-- Where each device was, and when: a reading is filed by the bed its device
-- served at the reading's own time (a monitor moved from B1 to B2 that
-- uploads its buffer files B1's readings to B1's patient). Kept by
-- server/store/store_devices.c whenever a device's bed changes: the open
-- row (to_ms NULL) is closed at the change and a new one opened. The rows
-- of one device never overlap.
CREATE TABLE device_beds (
    id        INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices(id), -- the device
    bed_id    TEXT NOT NULL REFERENCES beds(id),       -- the bed it served
    from_ms   INTEGER,  -- since when; NULL for a device's first bed (since ever)
    to_ms     INTEGER   -- until when (exclusive); NULL while it is there
) STRICT;
CREATE INDEX device_beds_device ON device_beds(device_id, from_ms);

-- The devices on a bed now: their first (and so far only) bed.
INSERT INTO device_beds (device_id, bed_id, from_ms, to_ms)
    SELECT id, bed_id, NULL, NULL FROM devices WHERE bed_id IS NOT NULL;

-- The audit chain: hash = SHA-256 over the row's canonical serialisation
-- followed by the previous row's hash (docs/security.md "Audit chain"),
-- lowercase hex. SQL cannot compute SHA-256: the rows already here are
-- chained right after this file runs, in the same transaction
-- (server/store/migrate.c calls store_audit_chain_backfill()).
ALTER TABLE audit ADD COLUMN hash TEXT;

-- The log is append-only for wardd and for anyone using the database
-- through SQLite without first dropping these triggers (and dropping them
-- does not hide a change: `wardd audit verify` finds it in the chain).
-- A chained row never changes; a row is never deleted; every new row
-- arrives chained.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_chained BEFORE INSERT ON audit WHEN NEW.hash IS NULL
BEGIN
    SELECT RAISE(ABORT, 'audit rows must carry their chain hash');
END;
