-- Issue 12: originals on request (docs/protocol.md §8, "Originals on
-- request"). A device syncs a downscaled upload copy of each photo and
-- keeps the photo as taken; the office may ask for the original.
--
-- photo_original: the device that took photo row `photo_id` (the writer of
-- its sha256) says which original its upload copy `upload_sha256` was made
-- from (POST /v1/photos/originals). It holds while that row is live and
-- still names `upload_sha256`: then a blob upload of `sha256` is "named"
-- (the same rule as an upload copy's, in the row's districts), and is kept,
-- served to the console and collected like one. Keyed by the photo row, not
-- the picture: another device's row naming the same copy gives it no say
-- over this row's original.
CREATE TABLE photo_original (
  photo_id TEXT PRIMARY KEY NOT NULL,
  upload_sha256 TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  mime TEXT NOT NULL,
  device_id TEXT NOT NULL,
  announced_at TEXT NOT NULL
);
CREATE INDEX photo_original_sha256 ON photo_original(sha256);

-- The office's requests (the console's photo gallery, `kbo-server photo
-- ask-original`): the original of photo row `photo_id` while it names
-- `upload_sha256`, asked of `device_id`, the device that took it. Open while
-- the server does not hold that original whole and the device has not
-- declined (it keeps no original of it: declined_reason); the device hears
-- of open requests on its pull pages (X-KBO-Originals-Requested) and lists
-- them with GET /v1/photos/originals. Asking again re-opens a declined one.
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
