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
-- so no query reads more of the index than before by more than the number
-- of codes. Dropping an index rewrites nothing: the migration takes
-- milliseconds at any size (its pages go to the free list and are reused).
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
