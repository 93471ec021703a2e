-- Issue 12: originals on request (docs/protocol.md §8). An original goes to
-- the server only when asked for: by the person (`kbo photo
-- upload-originals`) or by the office (a request the server lists on GET
-- /v1/photos/originals). One row per photo row this device took and was
-- asked about; photo_original says which original its copy came from.
-- announced_at: the server took the notice (POST /v1/photos/originals);
--   from then on the original is in blob_upload and goes up, resumable,
--   like a photo. Cleared when the server lists it again (it lacks it) or
--   the device enrols with another server.
-- refused_at, refusal: the server refused the notice, or the original is
--   not on this device: not tried again until the person asks again.
CREATE TABLE original_send (
  photo_id TEXT PRIMARY KEY NOT NULL,
  upload_sha256 TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  announced_at TEXT,
  refused_at TEXT,
  refusal TEXT
);
