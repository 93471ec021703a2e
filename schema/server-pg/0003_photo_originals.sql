-- schema/server/0007_photo_originals.sql: originals on request (issue 12).
-- Read the SQLite file for what each table and column means.
CREATE TABLE photo_original (
  photo_id TEXT PRIMARY KEY NOT NULL,
  upload_sha256 TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  mime TEXT NOT NULL,
  device_id TEXT NOT NULL,
  announced_at TEXT NOT NULL
);
CREATE INDEX photo_original_sha256 ON photo_original(sha256);

CREATE TABLE original_request (
  photo_id TEXT PRIMARY KEY NOT NULL,
  upload_sha256 TEXT NOT NULL,
  device_id TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  declined_at TEXT,
  declined_reason TEXT
);
CREATE INDEX original_request_device ON original_request(device_id);
