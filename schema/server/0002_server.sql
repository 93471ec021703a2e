-- Server-only tables: devices, enrolment tokens, nonces, the append-only
-- change set log, conflicts, blobs.

CREATE TABLE server_state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  next_seq INTEGER NOT NULL DEFAULT 1
);
INSERT INTO server_state(singleton, next_seq) VALUES (1, 1);

CREATE TABLE enrol_token (
  token_hash TEXT PRIMARY KEY NOT NULL,   -- SHA-256 hex; the token itself is never stored
  role TEXT NOT NULL,
  districts TEXT NOT NULL,                -- comma-separated codes, or 'all'
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  used_by TEXT
);

CREATE TABLE device (
  device_id TEXT PRIMARY KEY NOT NULL,
  public_key TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  districts TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  revoked_at TEXT,
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_hash BLOB,
  last_seen_at TEXT,
  clock_offset_ms INTEGER
);

CREATE TABLE nonce (
  device_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  seen_at_ms INTEGER NOT NULL,
  PRIMARY KEY (device_id, nonce)
) WITHOUT ROWID;

-- Verbatim signed change sets, append-only.
CREATE TABLE change_set_log (
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  bytes BLOB NOT NULL,
  signature BLOB NOT NULL,
  received_at TEXT NOT NULL,
  first_server_seq INTEGER NOT NULL,
  receipt TEXT NOT NULL,
  PRIMARY KEY (device_id, seq)
);

CREATE TABLE conflict (
  id TEXT PRIMARY KEY NOT NULL,
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  column_name TEXT NOT NULL,
  district_code TEXT,
  current_value TEXT,
  current_type TEXT NOT NULL,
  current_hlc TEXT NOT NULL,
  current_seq INTEGER NOT NULL,
  incoming_value TEXT,
  incoming_type TEXT NOT NULL,
  incoming_hlc TEXT NOT NULL,
  incoming_base INTEGER NOT NULL,
  incoming_seq INTEGER NOT NULL,
  winner TEXT NOT NULL,             -- 'current' or 'incoming' (what LWW shows)
  detected_at TEXT NOT NULL,
  resolved_at TEXT,
  resolution_hlc TEXT
);
CREATE INDEX conflict_open ON conflict(resolved_at);

CREATE TABLE blob (
  sha256 TEXT PRIMARY KEY NOT NULL,
  bytes INTEGER NOT NULL,
  received_bytes INTEGER NOT NULL DEFAULT 0,
  complete_at TEXT
);
