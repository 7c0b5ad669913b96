-- 0009: wall-display stations (docs/api.md "Stations", docs/dashboard.md
-- "Stations"). A station is a screen, not a person: it reads the ward with
-- viewer rights through its own bearer token, with no idle timeout and no
-- session cap, until an admin revokes it. Times are UTC epoch ms.
-- Append-only: a mistake here is undone by a new migration, never an edit.
CREATE TABLE stations (
    id         INTEGER PRIMARY KEY, -- assigned by wardd
    name       TEXT NOT NULL,       -- e.g. 'Wall 1'; unique among active stations
    location   TEXT,                -- free text, e.g. 'nurses'' station'; NULL when none
    token_hash TEXT UNIQUE,         -- SHA-256 hex of the bearer token; NULL once revoked
    created_at INTEGER NOT NULL,    -- enrolment time
    created_by TEXT NOT NULL,       -- the admin's user name
    revoked_at INTEGER,             -- NULL while active
    last_seen  INTEGER              -- last heartbeat of the station's screen
) STRICT;
CREATE UNIQUE INDEX stations_active_name ON stations(name) WHERE revoked_at IS NULL;
