-- Sessions end after a period without use as well as at their absolute
-- expiry (docs/security.md "Sessions"). The latest recorded use of a
-- session (written at most about once a minute); a session without a row
-- counts from its created_at. A table of its own (not a column of
-- sessions) so that the migration can run again on a database whose
-- version was set back.
CREATE TABLE IF NOT EXISTS session_use (
    token_hash   TEXT PRIMARY KEY REFERENCES sessions(token_hash) ON DELETE CASCADE,
    last_used_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
