-- Sessions end after a period without use as well as at their absolute
-- expiry (docs/security.md "Sessions"). last_used_at is the latest time the
-- session was presented, written at most about once a minute; NULL for
-- sessions created before this migration (they count from created_at).
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
