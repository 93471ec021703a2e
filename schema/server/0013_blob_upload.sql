-- Unfinished photo uploads, one per photo and device (server/blob_service.h):
-- a device's upload of a photo is its own, in blobs/partial/<sha256>.<device>,
-- so another device naming the same photo (with a false size in its own
-- row, or sending other bytes) cannot stop it or spoil it. The first upload
-- whose bytes hash to the name completes the photo (table blob), and every
-- other device's upload of it ends there. Uploads in progress before this
-- migration are dropped: their devices begin them again from byte 0 (they
-- still hold the photos), and `kbo-server serve` removes their files.
CREATE TABLE blob_upload (
  sha256 TEXT NOT NULL,
  uploader TEXT NOT NULL,            -- the device's id; 'server' for the server
  bytes INTEGER NOT NULL,            -- total size, given with the first chunk
  received_bytes INTEGER NOT NULL,   -- held, fsynced
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (sha256, uploader)
);
CREATE INDEX blob_upload_by_uploader ON blob_upload(uploader);
CREATE INDEX blob_upload_by_update ON blob_upload(updated_at);
DELETE FROM blob WHERE complete_at IS NULL;
