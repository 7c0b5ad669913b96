-- 0010: storage layout for readings (issue 15; docs/performance.md "Storage
-- layout (issue 15)", docs/ARCHITECTURE.md "Storage"). Append-only.
--
-- observations_patient_time (patient_id, time_ms) cost about 19 bytes of
-- every reading (16 % of the database) and only duplicated what
-- observations_patient_code_time (patient_id, code, time_ms) already orders:
-- a patient's readings in a time range are the union of that index's
-- per-code ranges. The queries that used it now visit the patient's codes
-- one by one (server/store/store_int.h STORE_PATIENT_CODES), and the pages
-- in time order take at most LIMIT readings of each code before merging,
-- so a page reads at most (number of codes) x LIMIT index entries. Dropping
-- an index rewrites no row: its pages go to the free list and are reused
-- (under a second for 3 million readings).
DROP INDEX observations_patient_time;

-- The receipt time is stored as its distance after the observation time:
-- a device's reading arrives milliseconds to minutes after it was taken,
-- 2-4 bytes instead of the 6 of an epoch ms (3 bytes a reading after the
-- bench's HTTP load). Readers add it back (store_obs_find.c); the writer
-- stores received - time (store_obs.c). Existing rows are rewritten in
-- place: about 3 s per million rows here (a year of a 16-bed ward, 50
-- million rows, in under a minute); their pages keep the freed bytes
-- until rows move or the file is vacuumed, new rows get the short form.
ALTER TABLE observations RENAME COLUMN received_ms TO received_after_ms;
UPDATE observations SET received_after_ms = received_after_ms - time_ms;

-- A reading marked invalid (0008) is rare, but its four columns cost every
-- row four bytes of record header while NULL: the marks move to their own
-- table, a row of which exists exactly while the reading is invalid
-- (server/store/store_invalid.c). Clinical reads skip a reading with a
-- mark (NOT EXISTS: one seek in this small table per row read). Dropping
-- the columns rewrites the rows in place: about 2 s per million rows here.
CREATE TABLE obs_invalid (
    obs_id  INTEGER PRIMARY KEY REFERENCES observations(id), -- the reading
    at_ms   INTEGER NOT NULL, -- when marked invalid
    by_name TEXT,             -- user name of who marked it
    user_id INTEGER,          -- that user (users.id), NULL for the command line
    reason  TEXT              -- why, as entered
) STRICT;
INSERT INTO obs_invalid (obs_id, at_ms, by_name, user_id, reason)
    SELECT id, invalid_at, invalid_by, invalid_user_id, invalid_reason
    FROM observations WHERE invalid_at IS NOT NULL;
ALTER TABLE observations DROP COLUMN invalid_reason;
ALTER TABLE observations DROP COLUMN invalid_user_id;
ALTER TABLE observations DROP COLUMN invalid_by;
ALTER TABLE observations DROP COLUMN invalid_at;
