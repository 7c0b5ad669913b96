-- 0003: series rollups (docs/performance.md "series_query"). GET
-- /patients/{id}/series reads a patient's numeric readings per code in
-- blocks of one minute: a block that lies inside one bucket counts by its
-- aggregates, a block cut by a bucket edge (or by `from`/`to`) by its
-- packed readings, so the answer is exact without reading observations
-- (unless the block is denser than the packing holds: see pts).
-- Times are UTC epoch ms.
-- Append-only: a mistake here is undone by a new migration, never an edit.

-- One row per patient, code and minute holding at least one numeric
-- reading (value_num NOT NULL) filed to the patient. Derived data: the
-- writer keeps it exact in the transaction that changes observations
-- (server/store_obs.c: insert, claim, release). The block width is
-- STORE_ROLLUP_BLOCK_MS in include/store.h.
--
-- Backfill: filled from the observations already stored by wardd right
-- after this file runs, in the same transaction (server/migrate.c calls
-- store_obs_rollup_backfill(): `pts` is binary, which SQL cannot build).
CREATE TABLE obs_rollup (
    patient_id INTEGER NOT NULL, -- observations.patient_id (never NULL here)
    code       TEXT NOT NULL,    -- observations.code
    block_ms   INTEGER NOT NULL, -- block start: time_ms floored to a multiple of 60000
    n          INTEGER NOT NULL, -- readings in the block
    sum        REAL NOT NULL,    -- sum of their value_num (the mean is sum / n)
    min        REAL NOT NULL,    -- smallest value_num
    max        REAL NOT NULL,    -- largest value_num
    pts        BLOB,             -- the n readings, 10 bytes each in arrival order:
                                 -- time_ms - block_ms as uint16 little-endian, then
                                 -- value_num as IEEE 754 binary64 little-endian;
                                 -- NULL once n > 90 (denser than 1.5 Hz: a cut
                                 -- block is then read from observations, and an
                                 -- insert never rewrites more than 900 bytes)
    PRIMARY KEY (patient_id, code, block_ms)
) STRICT, WITHOUT ROWID;
