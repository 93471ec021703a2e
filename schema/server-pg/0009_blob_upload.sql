-- schema/server/0013_blob_upload.sql: unfinished photo uploads, one per
-- photo and device. Read the SQLite file for why.
CREATE TABLE blob_upload (
  sha256 TEXT NOT NULL,
  uploader TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  received_bytes BIGINT NOT NULL,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (sha256, uploader)
);
CREATE INDEX blob_upload_by_uploader ON blob_upload(uploader);
CREATE INDEX blob_upload_by_update ON blob_upload(updated_at);
DELETE FROM blob WHERE complete_at IS NULL;
