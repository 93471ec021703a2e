-- Server-only tables: devices, enrolment tokens, nonces, the append-only
-- change set log, conflicts, blobs.

-- The server's own identity (it writes conflict resolutions as an ordinary
-- device would) and the next global server sequence number.
CREATE TABLE server_state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  next_seq INTEGER NOT NULL DEFAULT 1,
  server_id TEXT,            -- uuid, set on first start
  clock_hlc TEXT             -- the server's persisted hybrid logical clock
);
INSERT INTO server_state(singleton, next_seq) VALUES (1, 1);

-- Pull index: one entry per row, keyed by the highest server sequence of
-- any of its cells, with its current district (for scope). Pull pages walk
-- it in max_seq order. Keyed by sequence (the rowid), a push appends its
-- entries at the end of the b-tree instead of scattering them by row id;
-- a row written again loses its old entry (found by the old highest
-- sequence, which the merge reads from the row's cell versions).
CREATE TABLE row_seq (
  max_seq INTEGER PRIMARY KEY,
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  district_code TEXT
);
-- A scoped pull walks one district's rows in sequence order.
CREATE INDEX row_seq_by_district ON row_seq(district_code, max_seq);

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
-- Nonces older than two request windows are pruned (server/request_auth.cc).
CREATE INDEX nonce_by_time ON nonce(seen_at_ms);

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

-- Every conflict the merge found (DESIGN §4): both values, both writers,
-- both times, the base. `feed_seq` is taken from the global server sequence
-- when the conflict is detected and again when it is resolved, so devices
-- pull conflict records after a cursor like rows.
CREATE TABLE conflict (
  id TEXT PRIMARY KEY NOT NULL,
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  column_name TEXT NOT NULL,
  district_code TEXT,
  current_value TEXT,
  current_type TEXT NOT NULL,
  current_device TEXT NOT NULL,
  current_hlc TEXT NOT NULL,
  current_seq INTEGER NOT NULL,
  incoming_value TEXT,
  incoming_type TEXT NOT NULL,
  incoming_device TEXT NOT NULL,
  incoming_hlc TEXT NOT NULL,
  incoming_base INTEGER NOT NULL,
  incoming_seq INTEGER NOT NULL,
  winner TEXT NOT NULL,             -- 'current' or 'incoming' (what LWW shows)
  detected_at TEXT NOT NULL,
  resolved_at TEXT,
  resolved_value TEXT,
  resolution_seq INTEGER,
  feed_seq INTEGER NOT NULL
);
CREATE INDEX conflict_feed ON conflict(feed_seq);
CREATE INDEX conflict_open ON conflict(resolved_at);

-- Photo blobs, content-addressed. While an upload is in progress its bytes
-- are in blobs/partial/<sha256>; `received_bytes` is what the server holds
-- (advanced only after the chunk is on disk and fsynced, so a crash never
-- claims bytes it does not have). Complete blobs are blobs/<sha256>.
CREATE TABLE blob (
  sha256 TEXT PRIMARY KEY NOT NULL,
  bytes INTEGER NOT NULL,            -- total size, given with the first chunk
  received_bytes INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  complete_at TEXT
);
