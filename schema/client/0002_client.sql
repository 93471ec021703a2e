-- Client-only tables: the device, its clock, the outbox, sync progress.

-- One row: this device's identity and enrolment.
CREATE TABLE device (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  device_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at TEXT NOT NULL,
  server_url TEXT,
  server_public_key TEXT,
  role TEXT,
  districts TEXT,            -- comma-separated district codes, or 'all'
  enrolled_at TEXT
);

-- The persisted hybrid logical clock (written with the data it stamps).
CREATE TABLE clock_state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  hlc TEXT NOT NULL
);

-- Local writes not yet acknowledged by the server: one entry per user
-- action (a roll-call or an import of many rows is one action), holding the
-- action's row changes in the outbox's compact encoding
-- (client/outbox_codec.h). An action of more than 2,000 rows (or about 4 MiB) is
-- stored as consecutive entries; action_id names its first entry (NULL on
-- the first entry itself). row_count counts the entry's row changes and
-- sealed_rows how many of them are already in sealed change sets (an entry
-- is split only when its action does not fit in one change set).
-- change_set_seq is set when the entry's last row is sealed into a signed
-- change set; acked when the server's signed receipt for that change set has
-- been verified.
-- The encoded row changes live in outbox_cells, not in the entry: SQLite
-- rewrites a whole row, overflow pages included, when an update changes its
-- size, so sealing (which sets change_set_seq) would copy up to 4 MiB again.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  action_id INTEGER,
  row_count INTEGER NOT NULL,
  sealed_rows INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  change_set_seq INTEGER     -- NULL while any of its rows is pending
);
CREATE INDEX outbox_pending ON outbox(change_set_seq);
CREATE TABLE outbox_cells (
  id INTEGER PRIMARY KEY,    -- = outbox.id
  cells BLOB NOT NULL        -- encoded row changes (client/outbox_codec.h)
);

-- Sealed, signed change sets, kept verbatim until acknowledged (and after,
-- for audit). seq is this device's change set sequence (1, 2, 3 ...).
-- The bytes are in change_set_bytes, apart from what acknowledging updates
-- (see outbox_cells).
CREATE TABLE change_set (
  seq INTEGER PRIMARY KEY,
  hash BLOB NOT NULL,
  signature BLOB NOT NULL,
  created_at TEXT NOT NULL,
  acked_at TEXT,
  receipt BLOB,
  row_count INTEGER NOT NULL DEFAULT 0  -- row changes in the set
);
CREATE TABLE change_set_bytes (
  seq INTEGER PRIMARY KEY,   -- = change_set.seq
  bytes BLOB NOT NULL        -- the signed encoding, verbatim
);

CREATE TABLE sync_state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  pull_cursor INTEGER NOT NULL DEFAULT 0,
  conflict_cursor INTEGER NOT NULL DEFAULT 0,
  last_sync_at TEXT,
  last_push_at TEXT,
  last_error TEXT
);

-- Photos to upload: content hash, size, and how much the server holds.
CREATE TABLE blob_upload (
  sha256 TEXT PRIMARY KEY NOT NULL,
  bytes INTEGER NOT NULL,
  mime TEXT NOT NULL,
  uploaded_bytes INTEGER NOT NULL DEFAULT 0,
  done_at TEXT
);

-- Conflicts the server reported for rows in this device's scope (read-only
-- here; the central office resolves them). Mirrors the server's record
-- (schema/server `conflict`): values as text with their type, both writers,
-- both hlcs, the base the incoming writer had seen, and the resolution once
-- there is one. `server_seq` is the record's position in the server's
-- conflict feed (its feed_seq); sync_state.conflict_cursor follows it.
CREATE TABLE conflict (
  id TEXT PRIMARY KEY NOT NULL,
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  column_name TEXT NOT NULL,
  district_code TEXT,
  current_value TEXT,
  current_type TEXT,
  current_device TEXT,
  current_hlc TEXT,
  current_seq INTEGER,
  incoming_value TEXT,
  incoming_type TEXT,
  incoming_device TEXT,
  incoming_hlc TEXT,
  incoming_base INTEGER,
  incoming_seq INTEGER,
  winner TEXT,                   -- 'current' or 'incoming': what LWW shows
  detected_at TEXT,
  resolved_at TEXT,
  resolved_value TEXT,
  resolution_seq INTEGER,
  server_seq INTEGER NOT NULL    -- position in the server's conflict feed
);
CREATE INDEX conflict_open ON conflict(resolved_at);
