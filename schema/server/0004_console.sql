-- Issue 10: the office console. Web users (separate from devices), their
-- server-side sessions, sign-in limits, the audit log, report settings, and
-- who resolved a conflict and why.

-- A person of the central office. The password is kept only as libsodium's
-- crypto_pwhash_str (Argon2id, its own salt and limits inside).
CREATE TABLE web_user (
  id TEXT PRIMARY KEY NOT NULL,          -- uuid
  login TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,                    -- admin | office | viewer
  districts TEXT NOT NULL,               -- comma-separated codes, or 'all'
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  password_changed_at TEXT NOT NULL,
  disabled_at TEXT                       -- a disabled user has no session
);

-- A signed-in browser. The cookie holds 32 random bytes; only their SHA-256
-- is stored, so a copy of the database signs no one in.
CREATE TABLE web_session (
  token_hash TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL,
  csrf TEXT NOT NULL,                    -- sent back with every form and API write
  created_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,         -- idle sessions expire (server/users.h)
  address TEXT NOT NULL
);
CREATE INDEX web_session_by_user ON web_session(user_id);

-- Failed sign-ins, per login ('login:NAME') and per address ('addr:IP'):
-- past the limit, sign-in is refused until locked_until_ms.
CREATE TABLE sign_in_failure (
  key TEXT PRIMARY KEY NOT NULL,
  failures INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  locked_until_ms INTEGER NOT NULL DEFAULT 0
);

-- Everything a person did to the data or to access: sign-ins (and failed
-- ones), resolutions, office edits, exports, tokens, devices, users.
-- Append-only.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,                      -- ISO 8601 UTC
  actor TEXT NOT NULL,                   -- 'user:LOGIN', 'cli' (a shell on the server)
  action TEXT NOT NULL,                  -- stable code (docs/console.md)
  subject TEXT NOT NULL DEFAULT '',      -- what it was done to (a row, a device, a login)
  detail TEXT NOT NULL DEFAULT '',       -- a line for a person
  address TEXT NOT NULL DEFAULT ''       -- the browser's address, '' from the shell
);
CREATE INDEX audit_by_time ON audit_log(at);

-- Reach targets per fiscal year (Buddhist Era); the programme's defaults
-- (94 groups, 206 entrepreneurs of 1,181 producers) where none is set.
CREATE TABLE fiscal_target (
  fiscal_year INTEGER PRIMARY KEY NOT NULL,
  groups INTEGER NOT NULL,
  entrepreneurs INTEGER NOT NULL,
  producers INTEGER NOT NULL
);

-- Per-workshop report settings: days attended for a certificate (default 4).
CREATE TABLE workshop_setting (
  workshop_id TEXT PRIMARY KEY NOT NULL,
  min_days INTEGER NOT NULL
);

-- Who resolved a conflict and why ('user:LOGIN' or 'cli').
ALTER TABLE conflict ADD COLUMN resolved_by TEXT;
ALTER TABLE conflict ADD COLUMN resolution_reason TEXT;

-- Tokens and devices get a label for people ("Somchai, Phrao, Samsung A14"):
-- a device takes its token's label when it enrols. A token may be cancelled
-- before it is used.
ALTER TABLE enrol_token ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE enrol_token ADD COLUMN cancelled_at TEXT;
ALTER TABLE device ADD COLUMN label TEXT NOT NULL DEFAULT '';
