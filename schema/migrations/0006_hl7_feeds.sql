-- 0006: HL7 v2 feeds over MLLP (docs/hl7.md). Registered senders, the ACK
-- each (feed, control id) got, HL7 locations of beds, EUI-64 identifiers
-- of devices, the feed a reading came through, and technical alerts.

-- A registered sender: messages are accepted only from an enabled feed
-- whose MSH-3/MSH-4 (first components) and client address match.
CREATE TABLE feeds (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL,         -- display name, e.g. 'ADT'
    kind                TEXT NOT NULL CHECK (kind IN ('adt', 'device_gateway')),
    sending_application TEXT NOT NULL,         -- MSH-3 component 1
    sending_facility    TEXT NOT NULL DEFAULT '', -- MSH-4 component 1 ('' = empty)
    addresses           TEXT NOT NULL DEFAULT '[]', -- JSON array of client IP addresses
    tls_fingerprint     TEXT,                  -- SHA-256 hex of the client certificate, or NULL
    enabled             INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    last_message_at     INTEGER,               -- last message answered
    last_error          TEXT,                  -- the text of the last AE/AR
    last_error_at       INTEGER,
    count_aa            INTEGER NOT NULL DEFAULT 0, -- messages answered AA
    count_ae            INTEGER NOT NULL DEFAULT 0, -- ... AE
    count_ar            INTEGER NOT NULL DEFAULT 0  -- ... AR
) STRICT;
-- One enabled feed per sender: a message names exactly one feed.
CREATE UNIQUE INDEX feeds_sender ON feeds(sending_application, sending_facility)
    WHERE enabled = 1;

-- The ACK sent for each (feed, MSH-10): a repeated control id gets the same
-- ACK again and nothing is applied twice. Written in the message's own
-- transaction, so an ACK exists exactly when its effects are committed.
CREATE TABLE hl7_acks (
    feed_id    INTEGER NOT NULL REFERENCES feeds(id),
    control_id TEXT NOT NULL,   -- MSH-10
    code       TEXT NOT NULL CHECK (code IN ('AA', 'AE', 'AR')),
    ack        TEXT NOT NULL,   -- the ACK message, segments ended by CR
    at_ms      INTEGER NOT NULL,
    PRIMARY KEY (feed_id, control_id)
) STRICT, WITHOUT ROWID;

-- PV1-3 point of care^room^bed of a bed ('IL2U^101^1'); unique.
ALTER TABLE beds ADD COLUMN location TEXT;
CREATE UNIQUE INDEX beds_location ON beds(location) WHERE location IS NOT NULL;

-- A device's EUI-64 (16 upper-case hex digits), matched against OBX-18/MSH-3.
ALTER TABLE devices ADD COLUMN eui64 TEXT;
CREATE UNIQUE INDEX devices_eui64 ON devices(eui64) WHERE eui64 IS NOT NULL;

-- The feed a reading came through; (feed, msg_id) is its idempotency key.
ALTER TABLE observations ADD COLUMN feed_id INTEGER REFERENCES feeds(id);
CREATE UNIQUE INDEX observations_feed_msg ON observations(feed_id, msg_id)
    WHERE feed_id IS NOT NULL;

-- Technical alerts about the feeds (not clinical: no patient is graded by
-- them): 'identity_mismatch' when PID-3 and the bed disagree.
CREATE TABLE technical_alerts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('identity_mismatch')),
    feed_id     INTEGER REFERENCES feeds(id),
    control_id  TEXT,               -- MSH-10 of the message
    bed_id      TEXT,               -- the bed the message named
    patient_id  INTEGER REFERENCES patients(id), -- the patient PID-3 named, if admitted
    occupant_id INTEGER REFERENCES patients(id), -- the bed's occupant, if any
    message     TEXT NOT NULL,
    raised_at   INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'resolved'))
) STRICT;
CREATE INDEX technical_alerts_state ON technical_alerts(state, raised_at);
